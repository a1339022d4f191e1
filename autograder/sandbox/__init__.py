"""The sandbox: runs submission code in a confined fork server and answers the grader's requests.

Import what the rest of the package needs from here, never from the modules inside: the
modules are this package's own business.
"""
from autograder.sandbox import wire
from autograder.sandbox.runner import (
    NOBODY,
    START_TIMEOUT,
    Isolation,
    Sandbox,
    SandboxError,
    Session,
    SessionEnded,
    choose_isolation,
    close_to_others,
)

__all__ = [
    "NOBODY",
    "START_TIMEOUT",
    "Isolation",
    "Sandbox",
    "SandboxError",
    "Session",
    "SessionEnded",
    "choose_isolation",
    "close_to_others",
    "wire",
]
