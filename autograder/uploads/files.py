"""The files of an upload (one file, a folder or a zip), listed first and read only when chosen.

Listing costs names and declared sizes only; bytes are read for the file(s) chosen to grade, and
never more than the caps below, whatever the upload declares: a zip of 199 members of 5 MB each,
or a folder of sparse 5 MB files, costs what the chosen file costs. Nothing here runs upload code.

Caps (documented in the README, "How a submission is graded"):
- ``MAX_FILE_BYTES``: one file read from the upload, and the uploaded file itself (a zip too);
- ``MAX_TOTAL_BYTES``: everything read from one upload (several source files merged, say);
- ``MAX_ENTRIES``: files and folders looked at in a folder or a zip; the rest is not listed.
"""
from __future__ import annotations

import lzma
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import List, Optional

from autograder.errors import AutograderError

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 1000
SKIPPED = ("__MACOSX", "__pycache__")  # folders of archivers and interpreters, never the student's code
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
# What reading a malformed or unusual zip can raise (zipfile, and the decompressors under it).
ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError, IndexError, OverflowError,
    NotImplementedError, RuntimeError, struct.error, zlib.error, lzma.LZMAError,
)


class Unreadable(AutograderError):
    """The upload, or the file chosen in it, cannot be read; the message tells the student what to do."""


@dataclass(frozen=True)
class Entry:
    """A file of the upload: its path inside the upload (``/``-separated) and its declared size."""

    name: str
    size: int
    where: str = ""  # how to find its bytes: a path on disk, or the zip member's position

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name

    @property
    def depth(self) -> int:
        return self.name.count("/")


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED


@dataclass
class Contents:
    """The listed files of one upload, and reading them within the caps."""

    entries: List[Entry]
    notes: List[str] = field(default_factory=list)  # said to the student (files not listed, ...)
    _zip: Optional[zipfile.ZipFile] = None
    _read: int = 0

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> "Contents":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, entry: Entry) -> bytes:
        """The bytes of ``entry``; ``Unreadable`` (with the fix) past a cap or if it cannot be read."""
        if entry.size > MAX_FILE_BYTES:
            raise Unreadable(f"{entry.name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: upload only the code you wrote.")
        data = _zip_member(self._zip, entry) if self._zip is not None else _read_file(entry)
        if len(data) > MAX_FILE_BYTES:  # a zip member larger than it says, or a file that grew
            raise Unreadable(f"{entry.name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: upload only the code you wrote.")
        self._read += len(data)
        if self._read > MAX_TOTAL_BYTES:
            raise Unreadable(f"the files to grade hold more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB together: upload only the code you wrote.")
        return data


def _zip_member(archive: zipfile.ZipFile, entry: Entry) -> bytes:
    info = archive.infolist()[int(entry.where)]  # by position: a zip may hold one name twice
    if info.flag_bits & 0x1:
        raise Unreadable(f"{entry.name} is encrypted inside the zip: make the zip again without a password (or upload the .py file itself).")
    if info.compress_type not in ZIP_METHODS:
        raise Unreadable(
            f"{entry.name} is compressed with a method this grader cannot read (zip method {info.compress_type}): "
            "make the zip again with your system's ordinary zip (deflate), or upload the .py file itself."
        )
    try:
        with archive.open(info) as member:
            return member.read(MAX_FILE_BYTES + 1)
    except ZIP_ERRORS as exc:
        raise Unreadable(f"{entry.name} cannot be read from the zip ({type(exc).__name__}): make the zip again, or upload the .py file itself.") from None


def _read_file(entry: Entry) -> bytes:
    """At most ``MAX_FILE_BYTES + 1`` bytes of a regular file, never following a link."""
    try:
        fd = os.open(entry.where, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise Unreadable(f"{entry.name} cannot be read ({exc.strerror}).") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Unreadable(f"{entry.name} is not a regular file.")
        try:
            return handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise Unreadable(f"{entry.name} cannot be read ({exc.strerror}).") from None


def _walk(folder: Path, notes: List[str]) -> List[Entry]:
    """Regular files under ``folder`` (links and hidden folders left out), by path; at most
    ``MAX_ENTRIES`` files and folders are looked at."""
    found: List[Entry] = []
    seen = 0
    stack = [(folder, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as scan:
                items = []
                for item in scan:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        break
                    items.append(item)
        except OSError:
            continue
        subfolders = []
        for item in sorted(items, key=lambda i: i.name):
            if _hidden(item.name) or item.is_symlink():
                continue
            name = prefix + item.name
            if item.is_dir(follow_symlinks=False):
                subfolders.append((Path(item.path), name + "/"))
            elif item.is_file(follow_symlinks=False):
                try:
                    size = item.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                found.append(Entry(name, size, item.path))
        stack.extend(reversed(subfolders))
        if seen > MAX_ENTRIES:
            notes.append(f"the upload holds more than {MAX_ENTRIES} files and folders; only the first {MAX_ENTRIES} were looked at.")
            break
    return sorted(found, key=lambda e: e.name)


def _zip_entries(archive: zipfile.ZipFile, notes: List[str]) -> List[Entry]:
    members = archive.infolist()
    if len(members) > MAX_ENTRIES:
        notes.append(f"the zip holds {len(members)} entries; only the first {MAX_ENTRIES} were looked at.")
        members = members[:MAX_ENTRIES]
    entries = []
    for index, info in enumerate(members):
        parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
        if info.is_dir() or not parts or any(_hidden(p) for p in parts[:-1]) or parts[-1].startswith("."):
            continue
        entries.append(Entry("/".join(parts), info.file_size, str(index)))
    return entries


def open_upload(path: Path) -> Contents:
    """The files of the upload at ``path``: a folder, a zip, or one file. ``Unreadable`` when the
    upload as a whole cannot be read (too large, a zip that is not one)."""
    path = Path(path)
    notes: List[str] = []
    if path.is_dir():
        return Contents(_walk(path, notes), notes)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Unreadable(f"{path.name} cannot be read ({exc.strerror}).") from None
    if not path.is_file():
        raise Unreadable(f"{path.name} is not a file: upload the .py file itself.")
    if size > MAX_FILE_BYTES:
        raise Unreadable(f"{path.name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: upload only the code you wrote.")
    if path.suffix != ".py" and zipfile.is_zipfile(path):
        archive = None
        try:
            archive = zipfile.ZipFile(path)
            return Contents(_zip_entries(archive, notes), notes, _zip=archive)
        except ZIP_ERRORS:
            if archive is not None:
                archive.close()
            raise Unreadable(f"{path.name} is not a readable zip: upload the .py file itself.") from None
    return Contents([Entry(path.name, size, str(path))], notes)
