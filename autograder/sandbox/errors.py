"""The sandbox's exceptions, in one place: what the grader may catch from the host side."""
from __future__ import annotations

from typing import Optional

from autograder.errors import AutograderError


class SandboxError(AutograderError):
    """The sandbox could not be started or stopped answering; the grader's problem, not the student's."""


class Oversized(SandboxError):
    """An answer larger than ``frames.MAX_ANSWER_BYTES``: the stream cannot be used any more."""


class DiskFull(Exception):
    """The session wrote more to its folder than its limits allow."""


class SessionEnded(Exception):
    """The session ended before answering: it crashed, exited, or ran out of time or memory."""

    def __init__(self, reason: str, code: Optional[int] = None, output: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.output = output
