"""Who the submission runs as: uid 65534 and below, one leased uid per sandbox, and what those
uids may not read (files closed to others, privileges dropped before exec)."""
from __future__ import annotations

import fcntl
import logging
import os
import stat
from pathlib import Path
from typing import List, Optional, Tuple

LOG = logging.getLogger(__name__)
NOBODY = 65534
# Sandboxes running at once on one machine (a parallel regrade) each lease a uid of their own,
# counting down from NOBODY, so that the kernel's per-uid process count, and signals in the
# fallback, never join two submissions. Debian leaves uids 65000-65533 unallocated.
UID_LEASES = 64
UID_LOCK_DIRS = ("/run/autograder-uids", "/var/lib/autograder/uids")  # writable by root only


def nobody_can_reach(path: str, need: int) -> bool:
    """Whether uid 65534 (no groups in common) may traverse every parent of ``path`` and has the
    ``need`` bits (``S_IROTH``, ``S_IXOTH``) on it. Permission bits only; ACLs are not read."""
    real = os.path.realpath(path)
    try:
        if os.stat(real).st_mode & need != need:
            return False
        parent = os.path.dirname(real)
        while True:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
            if parent == "/":
                return True
            parent = os.path.dirname(parent)
    except OSError:
        return False


def drop_privileges(uid: int = NOBODY) -> None:  # runs in a child between fork and exec
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def close_to_others(paths: List[Path]) -> None:
    """Take every permission of group and others off ``paths`` (those that exist): the fallback
    sandbox has no private filesystem, and its uids must not read what the caller names here
    (hidden tests, results, other students' uploads). Under bubblewrap they are not even there."""
    for path in paths:
        if path.exists():
            path.chmod(path.stat().st_mode & ~(stat.S_IRWXG | stat.S_IRWXO))


def _lock_dir() -> Optional[str]:
    """A folder for uid leases that only we can write (so no submission can hold a lease)."""
    for folder in UID_LOCK_DIRS:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)  # a folder made before us must pass the checks below
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077:
            return folder
    return None


def lease_uid() -> Tuple[int, Optional[int]]:
    """A sandbox uid that no other live sandbox on this machine holds, and the locked file
    descriptor that holds it (closing it, or the process ending, frees the uid)."""
    folder = _lock_dir()
    if folder is not None:
        for uid in range(NOBODY, NOBODY - UID_LEASES, -1):
            try:
                fd = os.open(os.path.join(folder, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return uid, fd
            except OSError:
                os.close(fd)
    LOG.warning("no sandbox uid of its own was free (or %s cannot be used): sharing uid %d", " or ".join(UID_LOCK_DIRS), NOBODY)
    return NOBODY, None
