"""The trusted side of the sandbox: start the fork server, open one session per problem, time out.

Isolation layers, outermost first (``Isolation.describe`` names the ones in force):
1. bubblewrap: new user, pid, network, IPC and UTS namespaces; the filesystem holds only the
   Python installation, the child's two files and the submission, all read-only, and a private
   ``/tmp``; the child runs as uid 65534 and dies with the grader. Hidden tests, reference
   solutions and the results folder are simply not there; no network interface but a private
   loopback exists.
2. Fallback where namespaces are refused (a Docker container's default seccomp profile): the
   child runs as uid/gid 65534 in its own session, with the same clean environment; paths it must
   not read are closed to other users by the caller (see ``protect``).
3. In every mode: per-session rlimits (address space, CPU seconds, file size, processes), a
   per-problem wall-clock deadline enforced from here, output sent to a capped file, and only
   tagged plain data on the wire (``wire.py``).
"""
from __future__ import annotations

import fcntl
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from autograder.sandbox import wire

LOG = logging.getLogger(__name__)
CHILD_DIR = Path(__file__).resolve().parent
NOBODY = 65534
START_TIMEOUT = 60.0  # importing torch under half a CPU; generous, paid once per submission
UPLOAD_DIR = "/submission"
GRADER_DIR = "/grader"


@dataclass(frozen=True)
class Limits:
    """Resources for one problem's session (from ``grading.toml``)."""

    time_seconds: float = 60.0
    memory_mb: int = 2048
    processes: int = 32
    file_mb: int = 16

    def for_child(self) -> Dict[str, int]:
        return {
            "memory_mb": self.memory_mb,
            "cpu_seconds": int(self.time_seconds) + 5,
            "processes": self.processes,
            "file_mb": self.file_mb,
        }


class SandboxError(Exception):
    """The sandbox could not be started or stopped answering; the grader's problem, not the student's."""


class SessionEnded(Exception):
    """The session ended before answering: it crashed, exited, or ran out of time or memory."""

    def __init__(self, reason: str, code: Optional[int] = None, output: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.output = output


@dataclass(frozen=True)
class Isolation:
    mode: str  # "bubblewrap" or "fallback"

    def describe(self) -> str:
        if self.mode == "bubblewrap":
            return (
                "bubblewrap (user/pid/net/ipc/uts namespaces, read-only minimal filesystem, uid 65534) "
                "+ rlimits + per-problem deadline"
            )
        who = "uid 65534" if _can_drop_privileges() else f"uid {os.geteuid()} (WARNING: no uid switch possible)"
        return f"fallback (no namespaces; {who}, own session) + rlimits + per-problem deadline"


def _bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    probe = [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--uid", str(NOBODY), "--gid", str(NOBODY), "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
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
    LOG.warning("bubblewrap unavailable: falling back to uid switch + rlimits")
    return Isolation("fallback")


def _child_env() -> Dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # older OpenBLAS needs these on some CPUs
        if name in os.environ:
            env[name] = os.environ[name]
    return env


VENV_DIR = "/venv"


def _python_binds() -> List[str]:
    """Bind the interpreter read-only: its base installation where it is, and a virtual
    environment at the neutral ``/venv``, so the sandbox does not even learn the repository's path."""
    binds: List[str] = []
    base = os.path.realpath(sys.base_prefix)
    if not base.startswith("/usr"):
        binds += ["--ro-bind", base, base]
    if sys.prefix != sys.base_prefix:
        binds += ["--ro-bind", os.path.realpath(sys.prefix), VENV_DIR]
    return binds


def _sandbox_python() -> str:
    """The interpreter's path as seen inside the bubblewrap sandbox."""
    if sys.prefix != sys.base_prefix:
        return f"{VENV_DIR}/bin/{os.path.basename(sys.executable)}"
    return sys.executable


def _bwrap_command(child_dir: str, upload_dir: str) -> List[str]:
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    for path in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    cmd += _python_binds()
    cmd += ["--ro-bind", child_dir, GRADER_DIR, "--ro-bind", upload_dir, UPLOAD_DIR]
    cmd += ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp"]
    return cmd


def _can_drop_privileges() -> bool:
    """Root can switch to uid 65534, if that uid can run this interpreter (not under /root, say)."""
    if os.geteuid() != 0:
        return False
    probe = [sys.executable, "-s", "-c", "import numpy"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, preexec_fn=_drop_privileges, env=_child_env())
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _drop_privileges() -> None:  # runs in the child between fork and exec
    os.setsid()
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


@dataclass
class Call:
    """One request made in the current example, kept to write a reproducer."""

    text: str


@dataclass
class Sandbox:
    """One fork server over read-only upload files (name → text); a session per problem and file.

    Grading one submission lays out one file. Several files share a sandbox only when they come
    from one trusted author (the project's own corpus tests): sessions can read each other's file.
    """

    uploads: Dict[str, str]
    isolation: Isolation
    preload: Tuple[str, ...] = ()  # modules the fork server imports once, before any session
    _proc: Optional[subprocess.Popen] = field(default=None, init=False)
    _to: int = field(default=-1, init=False)
    _from: int = field(default=-1, init=False)
    _tmp: Optional[tempfile.TemporaryDirectory] = field(default=None, init=False)
    _greeted: bool = field(default=False, init=False)

    def __enter__(self) -> "Sandbox":
        self._tmp = tempfile.TemporaryDirectory(prefix="autograder-")
        base = Path(self._tmp.name)
        os.chmod(base, 0o755)
        child_dir, upload_dir = base / "grader", base / "upload"
        for d in (child_dir, upload_dir):
            d.mkdir()
            os.chmod(d, 0o755)
        for name in ("child.py", "wire.py"):
            shutil.copyfile(CHILD_DIR / name, child_dir / name)
            os.chmod(child_dir / name, 0o644)
        self.output_path = "/tmp/submission-output.txt"
        if self.isolation.mode == "fallback":  # no private /tmp: a private, writable folder instead
            out_dir = base / "output"
            out_dir.mkdir()
            os.chmod(out_dir, 0o777)
            self.output_path = str(out_dir / "output.txt")
        for name, text in self.uploads.items():
            if "/" in name or name.startswith("."):
                raise SandboxError(f"upload name {name!r} must be a plain file name")
            (upload_dir / name).write_text(text, encoding="utf-8")
            os.chmod(upload_dir / name, 0o644)
        if self.isolation.mode == "bubblewrap":
            self.upload_root = UPLOAD_DIR
            prefix = _bwrap_command(str(child_dir), str(upload_dir))
            interpreter = _sandbox_python()
            script = f"{GRADER_DIR}/child.py"
        else:
            self.upload_root = str(upload_dir)
            prefix = []
            interpreter = sys.executable
            script = str(child_dir / "child.py")
        self._command = prefix + [interpreter, "-s", "-B", "-P", script]
        self._start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- process management -------------------------------------------------------------------

    def _start(self) -> None:
        """Start the fork server without waiting for it: it imports torch while the caller works.
        The first session waits for its greeting (``_ready``)."""
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # The child sees our pipe ends as fds 3 (requests) and 4 (answers).
        fds = [(to_r, 3), (from_w, 4)]
        self._proc = subprocess.Popen(
            self._command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_child_env(),
            pass_fds=(3, 4),
            preexec_fn=_make_preexec(fds, self.isolation.mode == "fallback" and _can_drop_privileges()),
        )
        os.close(to_r)
        os.close(from_w)
        self._to, self._from = to_w, from_r
        self._greeted = False

    def _ready(self) -> None:
        if self._greeted:
            return
        hello = self._read(time.monotonic() + START_TIMEOUT)
        if hello is None or "ok" not in hello:
            raise SandboxError(f"the sandbox did not start ({self.isolation.mode}): {hello}")
        LOG.info("sandbox up: %s", hello["ok"])
        if self.preload:
            self._send({"op": "preload", "modules": list(self.preload)})
            answer = self._read(time.monotonic() + START_TIMEOUT)
            if answer is None or "ok" not in answer:
                raise SandboxError(f"the sandbox did not preload {self.preload}: {answer}")
        self._greeted = True

    def _stop(self) -> None:
        for fd in (self._to, self._from):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to = self._from = -1
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def restart(self) -> None:
        self._stop()
        self._start()
        self._ready()

    # -- frames ---------------------------------------------------------------------------------

    def _send(self, message: Dict[str, Any]) -> None:
        try:
            wire.write_frame(self._to, message)
        except (OSError, wire.WireError) as exc:
            raise SandboxError(f"cannot write to the sandbox: {exc}") from exc

    def _read(self, deadline: float) -> Optional[Dict[str, Any]]:
        """The next frame, or None if the deadline passed first."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([self._from], [], [], remaining)
        if not ready:
            return None
        try:
            frame = wire.read_frame(self._from)
        except wire.WireError as exc:
            raise SandboxError(f"bad frame from the sandbox: {exc}") from exc
        if frame is None:
            raise SandboxError("the sandbox closed its stream")
        return frame

    def session(self, limits: Limits, name: Optional[str] = None) -> "Session":
        """A session on upload ``name`` (the only one when there is one)."""
        if name is None:
            if len(self.uploads) != 1:
                raise SandboxError("name the upload: this sandbox holds several")
            name = next(iter(self.uploads))
        self._ready()
        return Session(self, limits, f"{self.upload_root}/{name}")


def _make_preexec(fds: List[tuple], drop: bool):
    def preexec() -> None:
        # Move both ends out of the way first, so that placing one cannot overwrite the other.
        high = [(fcntl.fcntl(src, fcntl.F_DUPFD, 10), dst) for src, dst in fds]
        for src, dst in high:
            os.dup2(src, dst)
            os.close(src)
        if drop:
            _drop_privileges()
        else:
            os.setsid()

    return preexec


class Session:
    """One problem's conversation with a fresh fork of the submission."""

    def __init__(self, sandbox: Sandbox, limits: Limits, path: str):
        self.sandbox = sandbox
        self.limits = limits
        self.path = path
        self.deadline = 0.0
        self.alive = False
        self.imported: Optional[List[str]] = None
        self.import_error: Optional[Dict[str, str]] = None
        self.ended: Optional[SessionEnded] = None

    def __enter__(self) -> "Session":
        self.deadline = time.monotonic() + self.limits.time_seconds
        self.sandbox._send({
                "op": "fork",
                "limits": self.limits.for_child(),
                "path": self.path,
                "output": self.sandbox.output_path,
            })
        self.alive = True
        answer = self._answer()
        if "error" in answer:
            self.import_error = answer["error"]
        else:
            self.imported = wire.decode(answer["ok"])
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.alive:
            return
        try:
            self.sandbox._send({"op": "end"})
            frame = self.sandbox._read(time.monotonic() + 5.0)
            if frame is None:
                self._kill()
        except SandboxError:
            self.sandbox.restart()
        self.alive = False

    def _kill(self) -> Optional[Dict[str, Any]]:
        """Ask the fork server to end the session; restart the whole sandbox if it cannot."""
        try:
            self.sandbox._send({"op": "kill"})
            deadline = time.monotonic() + 5.0
            while True:
                frame = self.sandbox._read(deadline)
                if frame is None:
                    break
                if "exit" in frame:
                    self.alive = False
                    return frame["exit"]
        except SandboxError:
            pass
        self.sandbox.restart()
        self.alive = False
        return None

    def _answer(self) -> Dict[str, Any]:
        if self.ended is not None:
            raise self.ended
        try:
            frame = self.sandbox._read(self.deadline)
        except SandboxError:
            self.sandbox.restart()
            self.alive = False
            self.ended = SessionEnded("the sandbox stopped unexpectedly")
            raise self.ended
        if frame is None:
            info = self._kill() or {}
            self.ended = SessionEnded(
                f"the time limit of {self.limits.time_seconds:g} s for this problem ran out",
                output=str(info.get("output", "")),
            )
            raise self.ended
        if "exit" in frame:
            self.alive = False
            code = frame["exit"].get("code")
            self.ended = SessionEnded(_exit_reason(code, self.limits), code, str(frame["exit"].get("output", "")))
            raise self.ended
        return frame

    def request(self, message: Dict[str, Any]) -> Dict[str, Any]:
        """Send one request; the answer frame (``ok`` or ``error``), or SessionEnded."""
        if self.ended is not None:
            raise self.ended
        self.sandbox._send(message)
        return self._answer()


def _exit_reason(code: Optional[int], limits: Limits) -> str:
    if code is None:
        return "the submission's process ended"
    if code == -signal.SIGKILL:
        return f"the submission's process was killed (memory limit {limits.memory_mb} MB or CPU limit reached)"
    if code == -signal.SIGXCPU:
        return f"the submission used more than {limits.time_seconds:g} s of CPU time"
    if code == -signal.SIGSEGV:
        return "the submission's process crashed (segmentation fault)"
    if code == 70:
        return "the submission's process failed outside your functions (did your file replace Python, numpy or torch functions?)"
    if code < 0:
        return f"the submission's process was ended by signal {signal.Signals(-code).name}"
    return f"the submission's process exited with status {code} (sys.exit or os._exit in the submission?)"
