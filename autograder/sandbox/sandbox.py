"""One submission's fork server: lay out its folders, start it, exchange frames, stop it.

Isolation layers, outermost first (``Isolation.describe`` names the ones in force):
1. bubblewrap: new user, pid, network, IPC and UTS namespaces; the filesystem holds only the
   Python installation, the child's files and the submission, all read-only, and a private
   ``/tmp``; started as uid 65534 when the grader is root (so that the kernel's process limit
   holds), it dies with the grader. Hidden tests, reference solutions and the results folder are
   simply not there.
2. Fallback where namespaces are refused (a Docker container's default seccomp profile): the fork
   server keeps the grader's uid and every session switches to uid/gid 65534 before it imports
   the submission, so it can neither signal the fork server nor the grader; where the kernel has
   Landlock, the session's filesystem is cut down to the same read-only paths plus its private
   folder (and with Landlock ABI 6, signals and abstract sockets stay inside the session).
   Paths it must not read are also closed to other users by the caller (``close_to_others``).
   Sandboxes running at once (a parallel regrade) lease uids of their own, 65534 and down
   (``uids.lease_uid``): the process limit and, in the fallback, signals never join two submissions.
3. In every mode: a seccomp filter in each session (no sockets of any family, so no network,
   loopback included; no ptrace, io_uring or BPF); per-session rlimits (address space, CPU
   seconds, file size, processes); a per-problem wall-clock deadline enforced from here; a cap on
   what the session writes to its folder (checked from here, emptied after every session);
   processes the session leaves behind killed when it ends; output drained by the fork server and
   cut at a cap; only tagged plain data on the wire (``inside/frames.py``, ``inside/wire.py``), answers bounded in size.
"""
from __future__ import annotations

import fcntl
import logging
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from autograder.config import Limits
from autograder.sandbox import command, sweep
from autograder.sandbox.errors import DiskFull, Oversized, SandboxError
from autograder.sandbox.inside import FILES as CHILD_FILES
from autograder.sandbox.inside import FOLDER as CHILD_DIR
from autograder.sandbox.inside import confine, frames
from autograder.sandbox.interpreter import interpreter, sandbox_uid
from autograder.sandbox.isolation import Isolation
from autograder.sandbox.session import Session
from autograder.sandbox.uids import drop_privileges, lease_uid

LOG = logging.getLogger(__name__)
START_TIMEOUT = 60.0  # importing torch under half a CPU; generous, paid once per submission
MAX_TMP_FILES = 1000  # files and folders a session may create in its private folder
DISK_CHECK_SECONDS = 0.2  # how often the private folder's size is checked while a session runs


@dataclass
class Sandbox:
    """One fork server over read-only upload files (name → text); a session per problem and file.

    Grading one submission lays out one file. Several files share a sandbox only when they come
    from one trusted author (the project's own corpus tests): sessions can read each other's file.

    ``Session`` talks to it through ``fork_request``, ``send``, ``read``, ``restart``, ``clean``
    and ``note_output_cut``, nothing else.
    """

    uploads: Dict[str, str]
    isolation: Isolation
    preload: Tuple[str, ...] = ()  # modules the fork server imports once, before any session
    _proc: Optional[subprocess.Popen] = field(default=None, init=False)
    _to: int = field(default=-1, init=False)
    _from: int = field(default=-1, init=False)
    _tmp: Optional[tempfile.TemporaryDirectory] = field(default=None, init=False)
    _greeted: bool = field(default=False, init=False)
    _checked: float = field(default=0.0, init=False)
    _cut: Dict[str, int] = field(default_factory=dict, init=False)  # upload → output cap it printed past (MB)

    def __enter__(self) -> "Sandbox":
        self.python = interpreter()
        self.started = time.time()
        root = sweep.temp_root()
        for path in sweep.sweep_stale(root or tempfile.gettempdir()):
            LOG.warning("removed %s, left by a grader that was killed", path)
        self._tmp = tempfile.TemporaryDirectory(prefix="autograder-", dir=root)
        self.uid = sandbox_uid()
        self._uid_lease: Optional[int] = None
        if self.uid is not None:
            self.uid, self._uid_lease = lease_uid()
        try:
            self._lay_out(Path(self._tmp.name))
            self._start()
        except BaseException:
            self._tmp.cleanup()
            self._tmp = None
            self._release_uid()
            raise
        return self

    def _release_uid(self) -> None:
        if self._uid_lease is not None:
            os.close(self._uid_lease)
            self._uid_lease = None

    def describe(self) -> str:
        """The isolation in force for this sandbox, for staff."""
        return self.isolation.describe(self.uid)

    def _lay_out(self, base: Path) -> None:
        """The sandbox's folders (child files, upload, private folder) and its command."""
        os.chmod(base, 0o755)
        sweep.mark_owner(base)
        child_dir, upload_dir, self.tmp_dir = base / "grader", base / "upload", base / "tmp"
        for d in (child_dir, upload_dir, self.tmp_dir):
            d.mkdir()
            os.chmod(d, 0o755)
        os.chmod(self.tmp_dir, 0o700)
        if self.uid is not None:
            os.chown(self.tmp_dir, self.uid, self.uid)
        for name in CHILD_FILES:
            shutil.copyfile(CHILD_DIR / name, child_dir / name)
            os.chmod(child_dir / name, 0o644)
        for name, text in self.uploads.items():
            if "/" in name or name.startswith("."):
                raise SandboxError(f"upload name {name!r} must be a plain file name")
            (upload_dir / name).write_text(text, encoding="utf-8")
            os.chmod(upload_dir / name, 0o644)
        self._launch = command.launch(self.isolation.mode, self.python, child_dir, upload_dir, self.tmp_dir, confine.landlock_abi())

    def __exit__(self, *exc: Any) -> None:
        self._stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._release_uid()  # last: every process of the uid is gone

    # -- process management -------------------------------------------------------------------

    def _start(self) -> None:
        """Start the fork server without waiting for it: it imports torch while the caller works.
        The first session waits for its greeting (``_ready``)."""
        to_r, to_w = frames.pipe()
        from_r, from_w = frames.pipe()
        # The child sees our pipe ends as fds 3 (requests) and 4 (answers); bubblewrap reads its
        # options from a third pipe, filled (a few KB, within the pipe's buffer) before it starts.
        fds = [(to_r, 3), (from_w, 4)]
        if self._launch.options:
            args_r, args_w = os.pipe()
            os.write(args_w, self._launch.options)
            os.close(args_w)
            fds.append((args_r, command.ARGS_FD))
        # bubblewrap itself runs as the sandbox uid (inside its user namespace that uid is the
        # outside one, so RLIMIT_NPROC counts); the fallback's fork server keeps ours, and each
        # session switches before it imports anything.
        drop = self.uid if self.isolation.mode == "bubblewrap" else None
        self._proc = subprocess.Popen(
            self._launch.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._launch.env,
            cwd=self._launch.cwd,
            pass_fds=tuple(dst for _, dst in fds),
            preexec_fn=_make_preexec(fds, drop),
        )
        for src, _ in fds:
            os.close(src)
        self._to, self._from = to_w, from_r
        self._greeted = False
        if self.preload:  # asked now, so that it imports them right after torch, while we work
            try:
                self.send({"op": "preload", "modules": list(self.preload)})
            except SandboxError:
                pass  # it is already gone: _ready reports that it did not start

    def _ready(self) -> None:
        if self._greeted:
            return
        hello = self.read(time.monotonic() + START_TIMEOUT)
        if hello is None or "ok" not in hello:
            raise SandboxError(f"the sandbox did not start ({self.isolation.mode}): {str(hello)[:500]}")
        LOG.info("sandbox up: %s", hello["ok"])
        if self.preload:
            answer = self.read(time.monotonic() + START_TIMEOUT)
            if answer is None or "ok" not in answer:
                raise SandboxError(f"the sandbox did not preload {self.preload}: {str(answer)[:500]}")
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
            # Everything below the fork server goes, daemons included (it is their subreaper).
            confine.kill_tree(self._proc.pid, include_root=True, reap=False)
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        self.clean()
        if self.isolation.mode == "fallback" and self.uid is not None and self._launch.landlock is None:
            for path in sweep.sweep_shared_tmp(self.uid, self.started):
                LOG.warning("removed %s, left by the submission", path)

    def restart(self) -> None:
        self._stop()
        self._start()
        self._ready()

    def clean(self) -> None:
        """Empty the sessions' private folder (between sessions: each problem starts clean)."""
        if self._tmp is not None:
            sweep.empty(self.tmp_dir)

    def over_disk(self, limits: Limits) -> Optional[str]:
        """Why the private folder is over its limits, or None."""
        used, count = sweep.usage(self.tmp_dir, MAX_TMP_FILES)
        if count > MAX_TMP_FILES:
            return f"your code created more than {MAX_TMP_FILES} files"
        if used > limits.disk_mb * 1024 * 1024:
            return f"your code wrote more than {limits.disk_mb} MB of files"
        return None

    def note_output_cut(self, path: str, cap_mb: int) -> None:
        """A session on upload ``path`` printed past its cap of ``cap_mb`` (its exit frame said so)."""
        name = path.rsplit("/", 1)[-1]
        self._cut[name] = max(self._cut.get(name, 0), cap_mb)

    def output_cut_mb(self, name: str) -> Optional[int]:
        """The output cap that some session on upload ``name`` printed past (the rest was
        dropped, the writes succeeded), or None."""
        return self._cut.get(name)

    # -- frames ---------------------------------------------------------------------------------

    def fork_request(self, limits: Limits, path: str) -> Dict[str, Any]:
        """The request that starts a session on ``path`` (as the sandbox sees it) under ``limits``."""
        request: Dict[str, Any] = {"op": "fork", "limits": limits.for_child(), "path": path, "tmp": self._launch.tmp_inside}
        if self.isolation.mode == "fallback":
            request["uid"] = self.uid
            request["landlock"] = self._launch.landlock
        return request

    def send(self, message: Dict[str, Any]) -> None:
        try:
            frames.write_frame(self._to, message)
        except (OSError, frames.WireError) as exc:
            raise SandboxError(f"cannot write to the sandbox: {exc}") from exc

    def read(self, deadline: float, limits: Optional[Limits] = None) -> Optional[Dict[str, Any]]:
        """The next frame, or None if the deadline passed first. With ``limits``, the private
        folder is checked while waiting (DiskFull)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = remaining if limits is None else min(remaining, DISK_CHECK_SECONDS)
            ready, _, _ = select.select([self._from], [], [], wait)
            if limits is not None and time.monotonic() - self._checked >= DISK_CHECK_SECONDS:
                self._checked = time.monotonic()
                reason = self.over_disk(limits)
                if reason is not None:
                    raise DiskFull(reason)
            if ready:
                break
        try:
            frame = frames.read_frame(self._from, frames.MAX_ANSWER_BYTES)
        except frames.FrameTooLarge as exc:
            raise Oversized(str(exc)) from exc
        except frames.WireError as exc:
            raise SandboxError(f"bad frame from the sandbox: {exc}") from exc
        if frame is None:
            raise SandboxError("the sandbox closed its stream")
        if not isinstance(frame, dict):
            raise SandboxError("a frame from the sandbox is not an object")
        return frame

    def session(self, limits: Limits, name: Optional[str] = None) -> Session:
        """A session on upload ``name`` (the only one when there is one)."""
        if name is None:
            if len(self.uploads) != 1:
                raise SandboxError("name the upload: this sandbox holds several")
            name = next(iter(self.uploads))
        self._ready()
        return Session(self, limits, f"{self._launch.upload_root}/{name}")


def _make_preexec(fds: List[tuple], drop: Optional[int]):
    def preexec() -> None:
        # Move both ends out of the way first, so that placing one cannot overwrite the other.
        high = [(fcntl.fcntl(src, fcntl.F_DUPFD, 10), dst) for src, dst in fds]
        for src, dst in high:
            os.dup2(src, dst)
            os.close(src)
        os.setsid()
        if drop is not None:
            drop_privileges(drop)

    return preexec
