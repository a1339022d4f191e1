"""Choose the file to grade in what a student uploaded, and say plainly what is wrong with it.

Accepted: the upload file itself, a folder or a zip holding it (at any depth), the assignment's
own source files instead of the exported one (merged as the export script merges them), a file
of another name when it is the only Python file, or a notebook (its answer and given cells). The
result is always one UTF-8 Python source; nothing here runs submission code.

``read`` does it in this process, for any bytes without raising; ``resolve`` (in ``bounded``)
runs it in a child process under memory and time limits, which is what the grader calls, since
parsing a few megabytes of Python can take gigabytes.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

from autograder.assign.export import ExportError, merge
from autograder.uploads import notebook
from autograder.uploads.files import Contents, Entry, Unreadable, open_upload

PARSE_ERRORS = (ValueError, RecursionError, MemoryError)  # besides SyntaxError: null bytes, nesting, size


@dataclass
class Upload:
    """The source to grade, or why there is none; ``notes`` are said to the student either way."""

    source: Optional[str]
    problem: Optional[str] = None
    syntax_error: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    kind: str = ""  # why nothing can run, for staff: one of BLOCKED_KINDS ("" when it can run)


# The kinds of upload that cannot run (``Upload.kind``), as the regrade's status column says them.
SYNTAX_ERROR = "syntax error"
EMPTY_OR_BINARY = "empty or binary"  # also: unreadable, encrypted, over the size caps
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
        try:  # the sandbox reads it as UTF-8: say so in the comment too
            text = data.decode(declared)
            return _CODING.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + b"utf-8", text.encode("utf-8"), count=1).decode("utf-8")
        except (LookupError, UnicodeError):  # no such codec, not that codec, or not writable as UTF-8
            pass
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
    grade the same (see ``notebook``)."""
    try:
        code = notebook.code_of(notebook.parse(data, name), name)
    except notebook.NotebookUnreadable:
        notes.append(f"{name} is not a readable Jupyter notebook: export your code with the last cell of the notebook instead.")
        return None
    if code.nbgrader:
        notes.append(f"graded the answer and given cells of the notebook {name} (as its last cell exports them).")
    else:
        notes.append(f"graded the code cells of the notebook {name}; next time upload the exported .py file.")
    notes.extend(code.notes)
    return code.text


def _text(contents: Contents, entry: Entry, notes: List[str]) -> str:
    """The text of one Python file of the upload; ``Unreadable`` if empty or binary."""
    data = contents.read(entry)
    if not data.strip():
        raise Unreadable(f"{entry.name} is empty: export your code again and upload the written file.")
    source = _decode(data, entry.name, notes)
    if source is None:
        raise Unreadable(f"{entry.name} is not a text file (it holds binary data): upload the .py file the export script wrote.")
    return source


def _shallowest(entries: List[Entry]) -> Entry:
    return sorted(entries, key=lambda e: (e.depth, e.name))[0]


def _merged(contents: Contents, parts: List[Entry], expected: str, sources: Sequence[str], others: List[Entry], notes: List[str]) -> Upload:
    """The assignment's source files, merged into the upload file as the export script does."""
    by_source = {e.basename: e for e in sorted(parts, key=lambda e: (-e.depth, e.name))}  # the shallowest wins
    files = [(name, _text(contents, by_source[name], notes)) for name in sources if name in by_source]
    missing = [name for name in sources if name not in by_source]
    note = f"no file named {expected} was uploaded, so {', '.join(n for n, _ in files)} were merged into it as export_submission.py does"
    note += f" (missing: {', '.join(missing)})." if missing else "."
    if others:
        note += f" Other Python files were not graded: {', '.join(e.name for e in others[:10])}."
    notes.append(note + f" Next time run export_submission.py and upload {expected}.")
    try:
        source = merge(files, f"{expected}: merged by the grader from {', '.join(n for n, _ in files)}.", siblings=sources)
    except ExportError as exc:
        return Upload(None, None, syntax_error=f"{exc}".replace("then export again", "then upload again"), notes=notes, kind=SYNTAX_ERROR)
    except PARSE_ERRORS as exc:
        raise Unreadable(f"{', '.join(n for n, _ in files)} cannot be parsed as Python ({type(exc).__name__}): upload {expected}.") from None
    return _checked(source, expected, notes)


def _choose(contents: Contents, expected: str, sources: Sequence[str], notes: List[str], staff_named: bool = False) -> Upload:
    """Choose the file(s) to grade among the upload's files. ``staff_named``: the upload is one
    file that course staff named (a regrade's ``<id>.py``), so its name is not the student's to fix."""
    entries = contents.entries
    by_name = [e for e in entries if e.basename == expected]
    python = [e for e in entries if e.name.endswith(".py")]
    notebooks = [e for e in entries if e.name.endswith(".ipynb")]
    own = [e for e in python if e.basename in sources]
    if by_name:
        chosen = _shallowest(by_name)
        if chosen.name != expected:
            notes.append(f"graded {chosen.name} (found inside the upload).")
    elif own and len(sources) > 1:
        return _merged(contents, own, expected, sources, [e for e in python if e.basename not in sources], notes)
    elif len(python) == 1:
        chosen = python[0]
        if not staff_named:
            notes.append(f"no file named {expected} was uploaded; graded {chosen.name} instead. Name your file {expected}.")
    elif len(python) > 1:
        names = ", ".join(sorted(e.name for e in python)[:10])
        return Upload(None, f"the upload holds several Python files ({names}) and none is named {expected}: upload only {expected}.", notes=notes, kind=WRONG_FILES)
    elif len(notebooks) == 1:
        source = _notebook_source(contents.read(notebooks[0]), notebooks[0].name, notes)
        if source is None:
            return Upload(None, notes.pop(), notes=notes, kind=EMPTY_OR_BINARY)
        return _checked(source, notebooks[0].name, notes)
    else:
        return Upload(None, f"the upload holds no Python file: upload {expected}, written by the export script.", notes=notes, kind=WRONG_FILES)
    return _checked(_text(contents, chosen, notes), chosen.name, notes)


def _checked(source: str, name: str, notes: List[str]) -> Upload:
    """``source`` if it parses; else the syntax error, said plainly (nothing runs)."""
    try:
        ast.parse(source, filename=name)
    except SyntaxError as exc:
        line = (exc.text or "").rstrip("\n")
        line = line if len(line) <= 200 else line[:200] + " ..."
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        message = f"{name} has a syntax error at {where}: {exc.msg}\n    {line}\nFix it (run `python {name}` to see it), then upload again."
        return Upload(source, None, syntax_error=message, notes=notes, kind=SYNTAX_ERROR)
    except MemoryError:
        return Upload(
            None, f"{name} is too large or too deeply nested for the grader to read (parsing it ran out of memory): upload the code you wrote, without generated data.",
            notes=notes, kind=SYNTAX_ERROR,
        )
    except (ValueError, RecursionError) as exc:
        return Upload(None, f"{name} cannot be parsed as Python ({type(exc).__name__}: {str(exc)[:200]}).", notes=notes, kind=SYNTAX_ERROR)
    return Upload(source, notes=notes)


def read(path: Path, expected: str, sources: Sequence[str] = (), staff_named: bool = False) -> Upload:
    """What to grade in ``path`` (a file, a folder or a zip), in this process. Never raises for
    anything an upload holds: every problem becomes ``Upload.problem``, said to the student.
    ``staff_named``: ``path`` is a file that course staff named (see ``_choose``)."""
    notes: List[str] = []
    try:
        with open_upload(Path(path)) as contents:
            notes.extend(contents.notes)
            return _choose(contents, expected, tuple(sources), notes, staff_named and Path(path).is_file())
    except Unreadable as exc:
        return Upload(None, str(exc), notes=notes, kind=EMPTY_OR_BINARY)
