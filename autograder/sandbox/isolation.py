"""Choosing the isolation: bubblewrap where it works here, else the fallback (see the README)."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from autograder.sandbox.errors import SandboxError
from autograder.sandbox.inside import confine
from autograder.sandbox.interpreter import interpreter, sandbox_uid
from autograder.sandbox.uids import NOBODY, drop_privileges

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Isolation:
    mode: str  # "bubblewrap" or "fallback"

    def describe(self, uid: Optional[int] = None) -> str:
        """The layers in force, for staff; ``uid`` is the one a sandbox leased (by default the first)."""
        uid = uid if uid is not None else sandbox_uid()
        who = f"uid {uid}" if uid is not None else f"uid {os.geteuid()} (WARNING: no uid switch: {'the interpreter is private' if os.geteuid() == 0 else 'not root'})"
        common = f"seccomp ({', '.join(['no sockets', 'io_uring', 'ptrace', 'BPF'])}) + rlimits + per-problem deadline; python {interpreter().describe()}"
        if self.mode == "bubblewrap":
            return f"bubblewrap (user/pid/net/ipc/uts namespaces, read-only minimal filesystem, {who}) + {common}"
        abi = confine.landlock_abi()
        fence = f"Landlock ABI {abi}: {confine.landlock_covers(abi)}" if abi > 0 else "WARNING: no Landlock, files closed by permissions only"
        return f"fallback (no namespaces; sessions run as {who}, own session; {fence}) + {common}"


@lru_cache(maxsize=None)
def _bwrap_works() -> bool:
    """Whether bubblewrap runs here, as the uid the sandbox will use."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    # The mounts the sandbox makes too: a private /proc cannot be mounted where the outer /proc is
    # partly masked (a container's), though user namespaces themselves may work there.
    probe = [exe, "--unshare-all", "--die-with-parent", "--new-session", "--uid", str(NOBODY), "--gid", str(NOBODY),
             "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/", "true"]
    drop = drop_privileges if sandbox_uid() is not None else None
    try:
        return subprocess.run(probe, capture_output=True, timeout=20, preexec_fn=drop).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose_isolation(force: Optional[str] = None) -> Isolation:
    """bubblewrap when it works here, else the fallback; ``force`` (or AUTOGRADER_ISOLATION) overrides."""
    wanted = force or os.environ.get("AUTOGRADER_ISOLATION", "auto")
    if wanted not in ("auto", "bubblewrap", "fallback"):
        raise SandboxError(f"AUTOGRADER_ISOLATION={wanted!r}, but should be one of auto, bubblewrap, fallback")
    if wanted == "fallback":
        return Isolation("fallback")
    if _bwrap_works():
        return Isolation("bubblewrap")
    if wanted == "bubblewrap":
        raise SandboxError("bubblewrap was asked for but does not work here (install Debian's bubblewrap)")
    LOG.warning("bubblewrap unavailable: falling back to uid switch + Landlock + seccomp + rlimits")
    return Isolation("fallback")
