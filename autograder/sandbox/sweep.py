"""The sandbox's temporary folders: where they go, how full they are, and sweeping what graders
killed before they could clean up (or, in the fallback without Landlock, the submission) left."""
from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

from autograder.sandbox.interpreter import sandbox_uid
from autograder.sandbox.uids import nobody_can_reach

LOG = logging.getLogger(__name__)
OWNER_FILE = "owner"  # in each sandbox folder: "<pid> <start time>" of the grader that made it
# World-writable folders swept for files of the sandbox uid when Landlock could not keep them out.
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


def temp_root() -> Optional[str]:
    """Where the sandbox's folders go: the usual temporary folder, if uid 65534 can traverse it."""
    if sandbox_uid() is None or nobody_can_reach(tempfile.gettempdir(), stat.S_IXOTH):
        return None
    LOG.warning("%s is closed to uid 65534: the sandbox's folders go to /tmp", tempfile.gettempdir())
    return "/tmp"


def start_time(pid: int) -> Optional[str]:
    """When process ``pid`` started (clock ticks since boot), to tell it from a later one of that pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def mark_owner(folder: Path) -> None:
    """Say which grader made ``folder``, so that a later one can tell when it died."""
    (folder / OWNER_FILE).write_text(f"{os.getpid()} {start_time(os.getpid())}\n")


def sweep_stale(folder: str) -> List[str]:
    """Remove the sandbox folders of graders that died without cleaning up (killed by a batch's
    time cap, say); their fork servers end by themselves when the grader's pipe closes."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith("autograder-") or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.geteuid():
                continue
            pid, started = (Path(entry.path) / OWNER_FILE).read_text().split()
        except (OSError, ValueError):
            continue
        if start_time(int(pid)) != started:
            empty(Path(entry.path))
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def empty(folder: Path) -> None:
    """Remove everything in ``folder`` (the session may have made parts of it unreadable)."""

    def unlock(function: Callable, path: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
        except OSError:
            pass
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass

    with os.scandir(folder) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, onerror=unlock)
        else:
            try:
                path.unlink()
            except OSError:
                pass


def usage(folder: Path, max_entries: int) -> Tuple[int, int]:
    """Bytes allocated and entries under ``folder``, counting at most ``max_entries + 1`` entries."""
    used, count = 0, 0
    todo = [str(folder)]
    while todo and count <= max_entries:
        try:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    count += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    used += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        todo.append(entry.path)
                    if count > max_entries:
                        break
        except OSError:
            continue
    return used, count


def sweep_shared_tmp(uid: int, since: float) -> List[str]:
    """Remove what the sandbox uid created directly in the machine's shared temporary folders
    (only possible in the fallback without Landlock); the paths removed."""
    removed = []
    for folder in SHARED_TMP:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid == uid and info.st_ctime >= since - 1:
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        continue
                removed.append(entry.path)
    return removed
