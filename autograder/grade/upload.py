"""Find the file to grade in what a student uploaded, and say plainly what is wrong with it.

Accepted: the upload file itself, a folder or a zip holding it (at any depth), a file of another
name when it is the only Python file, or a notebook (its code cells are used). The result is
always one UTF-8 Python source written to a fresh folder; nothing here runs submission code.
"""
from __future__ import annotations

import ast
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

# Underscored because the same module is the body of the notebook's export cell (see its docstring).
from autograder.notebook.extract import _nbx_code, _nbx_ours

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ZIP_MEMBERS = 200


@dataclass
class Upload:
    """The source to grade, or why there is none; ``notes`` are said to the student either way."""

    source: Optional[str]
    problem: Optional[str] = None
    syntax_error: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    kind: str = ""  # why there is nothing to run, for staff: one of BLOCKED_KINDS ("" when it can run)


# The kinds of upload that cannot run (``Upload.kind``), as the regrade's status column says them.
SYNTAX_ERROR = "syntax error"
EMPTY_OR_BINARY = "empty or binary"
WRONG_FILES = "wrong files"
BLOCKED_KINDS = (SYNTAX_ERROR, EMPTY_OR_BINARY, WRONG_FILES)


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _declared(data: bytes) -> Optional[str]:
    """The encoding a PEP 263 comment in the first two lines declares, if any."""
    for line in data.splitlines()[:2]:
        match = _CODING.match(line)
        if match:
            return match.group(1).decode("ascii")
    return None


def _decode(data: bytes, name: str, notes: List[str]) -> Optional[str]:
    """The text of a Python file, or None if it is binary. A file that is not UTF-8 is still
    graded, with its unreadable bytes replaced, so that an accent in a comment costs nothing."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first = exc.start
    declared = _declared(data)
    if declared is not None:
        try:
            text = data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
        else:  # the sandbox reads it as UTF-8: say so in the comment too
            return _CODING.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + b"utf-8", text.encode("utf-8"), count=1).decode("utf-8")
    text = data.decode("utf-8", "replace")
    unreadable = text.count("\ufffd")
    if unreadable > max(16, len(data) // 20):  # mostly unreadable: not text at all
        return None
    line = data.count(b"\n", 0, first) + 1
    more = f" (and {unreadable - 1} more)" if unreadable > 1 else ""
    notes.append(
        f"{name} is not UTF-8 text: byte 0x{data[first]:02x} on line {line}{more} could not be read and became \ufffd. "
        "Save the file as UTF-8 (in most editors: Save with Encoding > UTF-8) and upload it again; "
        "this time it was graded with those characters replaced."
    )
    return text


def _notebook_source(data: bytes, name: str, notes: List[str]) -> Optional[str]:
    """The code of a notebook: its answer and given cells (by nbgrader metadata), never its test or
    export cells; the very function its export cell runs, so the notebook and the file it writes
    grade the same (see ``autograder/notebook/extract.py``)."""
    try:
        notebook = json.loads(data.decode("utf-8"))
        code, cell_notes = _nbx_code(notebook, name)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        notes.append(f"{name} is not a readable Jupyter notebook: export your code with the last cell of the notebook instead.")
        return None
    if _nbx_ours(notebook):
        notes.append(f"graded the answer and given cells of the notebook {name} (as its last cell exports them).")
    else:
        notes.append(f"graded the code cells of the notebook {name}; next time upload the exported .py file.")
    notes.extend(cell_notes)
    return code


def _from_files(files: List[tuple], expected: str, notes: List[str], staff_named: bool = False) -> Upload:
    """``files`` is (relative path, bytes); choose the one to grade. ``staff_named``: the one file
    was named by course staff (a regrade's ``<id>.py``), so its name is not the student's to fix."""
    by_name = [f for f in files if Path(f[0]).name == expected]
    python = [f for f in files if f[0].endswith(".py") and not Path(f[0]).name.startswith(".")]
    notebooks = [f for f in files if f[0].endswith(".ipynb")]
    if by_name:
        chosen = sorted(by_name, key=lambda f: (f[0].count("/"), f[0]))[0]
        if chosen[0] != expected:
            notes.append(f"graded {chosen[0]} (found inside the upload).")
    elif len(python) == 1:
        chosen = python[0]
        if not staff_named:
            notes.append(f"no file named {expected} was uploaded; graded {chosen[0]} instead. Name your file {expected}.")
    elif len(python) > 1:
        names = ", ".join(sorted(f[0] for f in python)[:10])
        return Upload(None, f"the upload holds several Python files ({names}) and none is named {expected}: upload only {expected}.", notes=notes, kind=WRONG_FILES)
    elif len(notebooks) == 1:
        source = _notebook_source(notebooks[0][1], notebooks[0][0], notes)
        return _checked(source, notebooks[0][0], notes)
    else:
        return Upload(None, f"the upload holds no Python file: upload {expected}, written by the export script.", notes=notes, kind=WRONG_FILES)
    name, data = chosen
    if not data.strip():
        return Upload(None, f"{name} is empty: export your code again and upload the written file.", notes=notes, kind=EMPTY_OR_BINARY)
    source = _decode(data, name, notes)
    if source is None:
        return Upload(None, f"{name} is not a text file (it holds binary data): upload the .py file the export script wrote.", notes=notes, kind=EMPTY_OR_BINARY)
    return _checked(source, name, notes)


def _checked(source: Optional[str], name: str, notes: List[str]) -> Upload:
    if source is None:
        return Upload(None, notes[-1] if notes else f"{name} could not be read.", notes=notes[:-1] if notes else notes, kind=EMPTY_OR_BINARY)
    try:
        ast.parse(source, filename=name)
    except SyntaxError as exc:
        line = (exc.text or "").rstrip("\n")
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        message = f"{name} has a syntax error at {where}: {exc.msg}\n    {line}\nFix it (run `python {name}` to see it), then upload again."
        return Upload(source, None, syntax_error=message, notes=notes, kind=SYNTAX_ERROR)
    except (ValueError, RecursionError) as exc:
        return Upload(None, f"{name} cannot be parsed as Python ({exc}).", notes=notes, kind=SYNTAX_ERROR)
    return Upload(source, notes=notes)


def _read_zip(path: Path, notes: List[str]) -> Optional[List[tuple]]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]
            if len(members) > MAX_ZIP_MEMBERS:
                notes.append(f"the zip holds {len(members)} files; at most {MAX_ZIP_MEMBERS} are read.")
                members = members[:MAX_ZIP_MEMBERS]
            files = []
            for member in members:
                if member.file_size > MAX_UPLOAD_BYTES:
                    continue
                files.append((member.filename, archive.read(member)))
            return files
    except (zipfile.BadZipFile, OSError):
        return None


def resolve(path: Path, expected: str, staff_named: bool = False) -> Upload:
    """What to grade in ``path`` (a file, a folder or a zip). ``staff_named``: a file ``path`` got
    its name from course staff (a regrade folder of ``<id>.py`` files), not from the student."""
    notes: List[str] = []
    path = Path(path)
    if path.is_dir():
        files = []
        for item in sorted(path.rglob("*")):
            if item.is_file() and not item.is_symlink() and item.stat().st_size <= MAX_UPLOAD_BYTES:
                files.append((item.relative_to(path).as_posix(), item.read_bytes()))
        return _from_files(files, expected, notes)
    if not path.is_file():
        return Upload(None, f"nothing was uploaded at {path}.", kind=EMPTY_OR_BINARY)
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        return Upload(None, f"{path.name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: upload only {expected}.", kind=WRONG_FILES)
    if zipfile.is_zipfile(path) and not path.name.endswith(".py"):
        files = _read_zip(path, notes)
        if files is None:
            return Upload(None, f"{path.name} is not a readable zip: upload {expected} itself.", kind=EMPTY_OR_BINARY)
        return _from_files(files, expected, notes)
    return _from_files([(path.name, path.read_bytes())], expected, notes, staff_named)

