"""Text that came from a submission or a submissions folder, made safe where the grader shows it.

Names, ids, file names and whatever a submission printed reach a staff member's terminal
(progress lines), a spreadsheet (``grades.csv``) and students' feedback. Each place has its own
danger: a terminal runs escape sequences (``\\x1b[2J`` clears it, others retitle the window or
fake earlier lines), a spreadsheet runs cells that start like a formula (OWASP's "CSV
injection"), and a newline in a one-line context forges a line of its own. Every non-printable
character is therefore shown as its Python escape (``\\x1b``, ``\\n``, ``\\u202e``), which is
visible, unambiguous and harmless everywhere.
"""
from __future__ import annotations

import re
from typing import Union

# OWASP, "CSV Injection": cells must not begin with these; and since a separator or a quote can
# start a new cell in some importers (a ";" in a European-locale spreadsheet), not right after
# one of those either.
FORMULA_START = "=+-@\t\r"
_AFTER_SEPARATOR = re.compile(r"([,;|\"'])(\s*)(?=[=+\-@])")


def _escape(char: str) -> str:
    return repr(char)[1:-1]  # only ever called on non-printable characters, never on quotes


def one_line(text: object) -> str:
    """``text`` on one line: every non-printable character (newlines, tabs, escapes, bidi and
    zero-width controls) replaced by its visible Python escape."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def multi_line(text: object) -> str:
    """Like ``one_line``, but newlines and tabs are kept (for feedback of several lines)."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\n\t" else _escape(c) for c in text)


def csv_cell(value: Union[str, int, float, None]) -> Union[str, int, float]:
    """A cell for a CSV that staff open in a spreadsheet: numbers stay numbers; text is put on one
    line and, by OWASP's rule, gets a single quote before a formula-like start (``=``, ``+``,
    ``-``, ``@``, tab or carriage return) at its beginning or after a separator or quote."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raw = str(value)
    text = _AFTER_SEPARATOR.sub(r"\1\2'", one_line(raw))  # one_line: a tab or CR is now a visible \t or \r
    if raw and raw[0] in FORMULA_START:
        text = "'" + text
    return text
