"""Untrusted text made safe for a terminal, a spreadsheet and generated code (``autograder/safe_text.py``)."""
import pytest

from autograder.safe_text import csv_cell, multi_line, one_line

pytestmark = pytest.mark.unit


def test_csv_cell_follows_owasp():
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("+x") == "'+x"
    assert csv_cell("-2") == "'-2"  # text that looks negative is still text here
    assert csv_cell("\tx") == "'\\tx" and csv_cell("\rx") == "'\\rx"  # tab and CR: quoted and made visible
    assert csv_cell('Ada; =HYPERLINK("http://x")') == "Ada; '=HYPERLINK(\"http://x\")"  # a new cell in a ';' locale
    assert csv_cell("a,-1") == "a,'-1" and csv_cell('x"@y') == "x\"'@y"
    assert csv_cell("Ada Lovelace") == "Ada Lovelace" and csv_cell("ada-l@example.edu") == "ada-l@example.edu"
    assert csv_cell(3) == 3 and csv_cell(2.5) == 2.5 and csv_cell(None) == ""  # numbers stay numbers
    assert one_line("a\nb\x1b[2J\u202e") == "a\\nb\\x1b[2J\\u202e"
    assert multi_line("a\nb\tc\x1b[31m\r") == "a\nb\tc\\x1b[31m\\r"
