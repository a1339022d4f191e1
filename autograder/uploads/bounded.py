"""Read an upload in a child process with its own memory and CPU limits: what the grader calls.

Why a child: parsing Python or JSON materialises objects many times the size of the text (a 5 MB
file of one name per line takes ``ast.parse`` to 4.6 GB), and the grader shares Gradescope's
768 MB with the sandbox. The child is a fresh interpreter (``-I -S``: standard library and this
package only, none of the grader's imports), limited to ``CHILD_MEMORY_MB`` of address space and
``CHILD_CPU_SECONDS``; it prints the ``Upload`` as JSON. Whatever it does (runs out of memory, is
killed, prints nonsense), the grader gets an ``Upload``: at worst one that says the upload could
not be read, which grades as zero with that message.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from autograder.errors import AutograderError
from autograder.uploads.files import MAX_TOTAL_BYTES
from autograder.uploads.source import BLOCKED_KINDS, EMPTY_OR_BINARY, Upload, read

CHILD_MEMORY_MB = 320  # with the grader's ~230 MB at this point, well under 768 MB together
CHILD_CPU_SECONDS = 30
CHILD_WALL_SECONDS = 90.0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding autograder/
_CHILD = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({CHILD_MEMORY_MB} << 20, {CHILD_MEMORY_MB} << 20))
resource.setrlimit(resource.RLIMIT_CPU, ({CHILD_CPU_SECONDS}, {CHILD_CPU_SECONDS} + 5))
sys.path.insert(0, sys.argv[1])
from autograder.uploads.bounded import child_main
child_main(sys.argv[2:])
"""


class UploadError(AutograderError):
    """There is no upload at the path given (a typo on the command line, say)."""


def _plain(upload: Upload) -> str:
    return json.dumps(asdict(upload))


def child_main(argv: Sequence[str]) -> None:
    """In the child: read the upload ``argv = [path, expected, staff_named ("1" or "0"), *sources]`` and print it as JSON."""
    path, expected, staff_named, *sources = argv
    try:
        upload = read(Path(path), expected, sources, staff_named == "1")
    except MemoryError:
        upload = Upload(None, f"the upload is too large for the grader to read (it ran out of memory): upload only {expected}.", kind=EMPTY_OR_BINARY)
    except RecursionError:
        upload = Upload(None, f"the upload is nested too deeply for the grader to read: upload only {expected}.", kind=EMPTY_OR_BINARY)
    sys.stdout.buffer.write(_plain(upload).encode("ascii"))


def _unreadable(expected: str, why: str) -> Upload:
    return Upload(None, f"the grader could not read the upload ({why}): upload only {expected}, as the export script writes it.", kind=EMPTY_OR_BINARY)


def _from_json(raw: bytes, expected: str) -> Upload:
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return _unreadable(expected, "it produced no answer")
    fields = ("source", "problem", "syntax_error")
    if not isinstance(data, dict) or not all(data.get(k) is None or isinstance(data.get(k), str) for k in fields):
        return _unreadable(expected, "it produced no answer")
    notes = data.get("notes")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        return _unreadable(expected, "it produced no answer")
    kind = data.get("kind") if data.get("kind") in BLOCKED_KINDS else ""
    return Upload(data["source"], data["problem"], data["syntax_error"], notes, kind)


def resolve(path: Path, expected: str, sources: Sequence[str] = (), staff_named: bool = False) -> Upload:
    """What to grade at ``path`` (a file, a folder or a zip), read in a bounded child process.
    ``staff_named``: ``path`` is a file course staff named (a regrade's ``<id>.py``): no note about its name.

    ``UploadError`` if nothing exists at ``path``; every problem of what is there becomes the
    returned ``Upload``'s message for the student.
    """
    path = Path(path)
    if not path.exists():
        raise UploadError(f"{path}: no such file or folder; give the upload (a .py, .ipynb or .zip file, or a folder)")
    command = [sys.executable, "-I", "-S", "-c", _CHILD, str(PACKAGE_ROOT), str(path.resolve()), expected, "1" if staff_named else "0", *sources]
    try:
        done = subprocess.run(command, capture_output=True, timeout=CHILD_WALL_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return _unreadable(expected, f"reading it took longer than {CHILD_WALL_SECONDS:g} s")
    if done.returncode != 0:
        return _unreadable(expected, f"reading it ran out of memory or time (exit status {done.returncode})")
    if len(done.stdout) > 8 * MAX_TOTAL_BYTES:  # escaped JSON of at most the capped bytes read
        return _unreadable(expected, "its answer was too large")
    return _from_json(done.stdout, expected)
