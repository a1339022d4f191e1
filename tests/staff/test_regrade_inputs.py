"""Hostile regrade input, through the real command line: formula-like names in the CSV, links in
the submissions folder, a YAML alias bomb, and names that carry terminal escapes or newlines.

Every submission here has a syntax error or is refused, so no sandbox starts: these tests are
about what the staff tools read and write, not about grading.
"""
import csv
import io
import os
from pathlib import Path

import pytest

from autograder.safe_text import FORMULA_START
from helpers import ATTENTION_TOML, make_project, run_cli

BROKEN = "x = (\n"  # a syntax error: graded 0 without running anything
SECRET = "TOKEN_5f3a9c = ("  # a file outside DIR; its syntax error would quote this line


def config(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project", ATTENTION_TOML.format(time_limit=60))


def regrade(cfg: Path, folder: Path, out: Path):
    return run_cli("--config", str(cfg), "regrade", str(folder), "--assignment", "hw3", "--out", str(out), "--jobs", "1")


def rows_of(path: Path) -> list:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def assert_no_formula_cells(rows: list) -> None:
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in FORMULA_START, (cell, row)


@pytest.mark.e2e
def test_formula_names_terminal_escapes_and_links_in_a_plain_folder(tmp_path):
    cfg = config(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(SECRET + "\n")
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("=1+2.py", "-3+4.py", "@SUM(1).py", "+5.py", "\tTAB.py", "esc\x1b[2Jape.py", "new\nline.py", "plain.py"):
        (folder / name).write_text(BROKEN)
    (folder / "stolen.py").symlink_to(outside / "secret.py")  # a link to a file outside DIR
    (folder / "solutions").symlink_to(Path(cfg).parent / "solutions", target_is_directory=True)
    (folder / "loop.py").symlink_to(folder / "loop.py")  # a link to itself
    out = tmp_path / "out" / "grades.csv"
    done = regrade(cfg, folder, out)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = rows_of(out)
    assert_no_formula_cells(rows)
    by_id = {row[0]: row for row in rows[1:]}
    header = rows[0]
    total, error = header.index("total"), header.index("error")
    for ident in ("'=1+2", "'-3+4", "'@SUM(1)", "'+5", "'\\tTAB", "esc\\x1b[2Jape", "new\\nline", "plain"):
        assert by_id[ident][total] == "0" and by_id[ident][error] == "", ident
    for ident in ("stolen", "solutions", "loop"):
        assert by_id[ident][total] == "" and "is a symbolic link" in by_id[ident][error], ident
    # the progress lines show the names escaped: no raw escape or forged line reaches the terminal
    assert "\x1b" not in done.stderr and "esc\\x1b[2Jape: 0/10" in done.stderr and "new\\nline: 0/10" in done.stderr
    # nothing behind a link was read: the secret line is nowhere in what regrade wrote
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert written and not any(SECRET.encode() in p.read_bytes() for p in written)


METADATA = """\
submission_1:
  :submitters:
  - :name: "=HYPERLINK(\\"http://evil.example\\", \\"grade\\")"
    :sid: '-1234'
    :email: "@evil.example"
  - :name: "+Bob\\u001b]0;owned\\u0007"
    :sid: "@42"
    :email: bob@example.edu
submission_2:
  :submitters:
  - :name: Carol
    :sid: '777'
    :email: carol@example.edu
"""


@pytest.mark.e2e
def test_gradescope_names_are_neutralised_and_a_linked_submission_is_not_followed(tmp_path):
    cfg = config(tmp_path)
    outside = tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    (outside / "inner" / "my_llm_implementation.py").write_text(SECRET + "\n")
    export = tmp_path / "export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text(METADATA)
    (export / "submission_1").mkdir()
    (export / "submission_1" / "my_llm_implementation.py").write_text(BROKEN)
    (export / "submission_2").symlink_to(outside / "inner", target_is_directory=True)
    out = tmp_path / "out" / "grades.csv"
    done = regrade(cfg, export, out)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = rows_of(out)
    assert_no_formula_cells(rows)
    header, by_id = rows[0], {row[0]: row for row in rows[1:]}
    one = dict(zip(header, by_id["submission_1"]))
    assert one["name"] == "'=HYPERLINK(\"http://evil.example\", \"grade\"); '+Bob\\x1b]0;owned\\x07"
    assert one["sid"] == "'-1234; '@42" and one["email"] == "'@evil.example; bob@example.edu" and one["total"] == "0"
    two = dict(zip(header, by_id["submission_2"]))
    assert two["name"] == "Carol" and two["total"] == "" and "submission_2 is a symbolic link" in two["error"]
    assert not any(SECRET.encode() in p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())


# 9 levels of 9 aliases each: 9**9 (387 million) strings once expanded, in 359 bytes.
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{new}: &{new} [{','.join(['*' + old] * 9)}]\n" for old, new in zip("abcdefgh", "bcdefghi")
) + "submission_1: *i\n"


@pytest.mark.e2e
def test_a_yaml_alias_bomb_is_refused_with_one_clear_error(tmp_path):
    cfg = config(tmp_path)
    export = tmp_path / "export"
    (export / "submission_1").mkdir(parents=True)
    (export / "submission_1" / "my_llm_implementation.py").write_text(BROKEN)
    (export / "submission_metadata.yml").write_text(ALIAS_BOMB)
    out = tmp_path / "out" / "grades.csv"
    done = regrade(cfg, export, out)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {export / 'submission_metadata.yml'}: refused: its YAML aliases (*name) expand to more than 1,000,000 entries "
        "(an alias bomb; Gradescope's exports are far smaller); download the export again from Gradescope"
    ]
    assert not out.exists()
    # a metadata file that is itself a link is refused the same plain way
    (export / "submission_metadata.yml").unlink()
    (export / "submission_metadata.yml").symlink_to(tmp_path / "project" / "grading.toml")
    linked = regrade(cfg, export, out)
    assert linked.returncode == 2 and "submission_metadata.yml: is a symbolic link" in linked.stderr
    assert "Traceback" not in done.stderr + linked.stderr


@pytest.mark.unit
def test_aliases_a_real_export_may_use_are_still_read(tmp_path):
    """Ruby writes an object it meets twice once, with an anchor, and then an alias: that is fine."""
    export = tmp_path / "export"
    (export / "submission_1").mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - &ada\n    :name: Ada\n    :sid: '1'\n    :email: ada@example.edu\n"
        "submission_2:\n  :submitters:\n  - *ada\n"
    )
    from autograder.staff.submissions import find

    found = {s.id: s for s in find(export)}
    assert [p.name for p in found["submission_2"].submitters] == ["Ada"] and found["submission_2"].path is None
    assert os.path.isdir(found["submission_1"].path)
