"""The sandbox: runs submission code in a confined fork server and answers the grader's requests.

``inside/`` holds what is copied into the sandbox and runs there (the fork server, its
confinement, the wire format both sides speak); every other module here is the trusted host
side, one job each: ``interpreter`` (which Python, package mirrors), ``uids`` (uid leases,
dropping privileges, closing folders to others), ``isolation`` (bubblewrap or the fallback),
``command`` (the bubblewrap command line and the fallback's Landlock paths), ``sweep``
(temporary folders), ``sandbox`` and ``session`` (the fork server and one problem's session),
``errors``.

Import what the rest of the package needs from here, never from the modules inside: the
modules are this package's own business. Importing this package does not import torch (``wire``
is loaded on first use), so that the grader can start a sandbox before it imports torch itself.
"""
from types import ModuleType

from autograder.sandbox.errors import SandboxError, SessionEnded
from autograder.sandbox.inside import preload
from autograder.sandbox.isolation import Isolation, choose_isolation
from autograder.sandbox.sandbox import START_TIMEOUT, Sandbox
from autograder.sandbox.session import Session
from autograder.sandbox.uids import NOBODY, close_to_others

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
    "preload",
    "wire",
]


def __getattr__(name: str) -> ModuleType:
    """``wire`` (values on the wire), imported when first asked for: it imports torch."""
    if name == "wire":
        from autograder.sandbox.inside import wire

        return wire
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
