"""A session's stdout and stderr as the fork server sees them (copied into the sandbox beside
``child.py``; imports nothing from the ``autograder`` package)."""
from __future__ import annotations

import fcntl
import os
import select
from typing import Any, Dict, List, Optional

OUTPUT_TAIL = 2000  # characters of a session's last output reported when it ends


class Output:
    """A session's stdout and stderr: a pipe that the fork server drains whenever it waits, keeping
    the last few thousand bytes and counting the rest. Writes never fail and never fill a disk;
    past ``cap`` bytes the output is said to be cut (the grader tells the student once)."""

    KEEP = OUTPUT_TAIL * 4  # bytes: UTF-8 takes up to four per character

    def __init__(self, cap: int):
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        try:  # a larger buffer: a session printing from a thread rarely waits for us
            fcntl.fcntl(self.write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass
        self.cap = cap
        self.total = 0
        self.tail = bytearray()
        self.open = True

    def fds(self) -> List[int]:
        """The descriptor to wait on (none once every writer is gone)."""
        return [self.read_fd] if self.open else []

    def drain(self, most: int = 4) -> None:
        """Read what the pipe holds now, without waiting, at most ``most`` chunks: a session that
        prints without end must not keep the fork server from its other pipes."""
        for _ in range(most):
            if not self.open:
                return
            try:
                chunk = os.read(self.read_fd, 1 << 20)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.open = False
                return
            self.total += len(chunk)
            self.tail += chunk[-self.KEEP:]
            if len(self.tail) > 2 * self.KEEP:
                del self.tail[: -self.KEEP]

    def report(self) -> Dict[str, Any]:
        self.drain(most=16)
        text = bytes(self.tail[-self.KEEP:]).decode("utf-8", "replace")[-OUTPUT_TAIL:]
        return {"output": text, "cut": self.total > self.cap}

    def read_exact(self, fd: int, size: int) -> Optional[bytes]:
        """``size`` bytes from the session's answer pipe, draining its output meanwhile (a session
        that prints from a thread while its answer is written must not wait for us forever)."""
        chunks: List[bytes] = []
        remaining = size
        while remaining:
            ready, _, _ = select.select([fd, *self.fds()], [], [])
            if self.read_fd in ready:
                self.drain()
            if fd in ready:
                chunk = os.read(fd, min(remaining, 1 << 20))
                if not chunk:
                    return None
                chunks.append(chunk)
                remaining -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        os.close(self.read_fd)
