"""The trusted side of the sandbox: start the fork server, open one session per problem, time out.

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
   (``lease_uid``): the process limit and, in the fallback, signals never join two submissions.
3. In every mode: a seccomp filter in each session (no sockets of any family, so no network,
   loopback included; no ptrace, io_uring or BPF); per-session rlimits (address space, CPU
   seconds, file size, processes); a per-problem wall-clock deadline enforced from here; a cap on
   what the session writes to its folder (checked from here, emptied after every session);
   processes the session leaves behind killed when it ends; output sent to a capped file; only
   tagged plain data on the wire (``wire.py``), answers bounded in size.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from autograder.config import Limits
from autograder.sandbox import confine, wire

LOG = logging.getLogger(__name__)
CHILD_DIR = Path(__file__).resolve().parent
CHILD_FILES = ("child.py", "wire.py", "confine.py")
NOBODY = 65534
# Sandboxes running at once on one machine (a parallel regrade) each lease a uid of their own,
# counting down from NOBODY, so that the kernel's per-uid process count, and signals in the
# fallback, never join two submissions. Debian leaves uids 65000-65533 unallocated.
UID_LEASES = 64
UID_LOCK_DIRS = ("/run/autograder-uids", "/var/lib/autograder/uids")  # writable by root only
START_TIMEOUT = 60.0  # importing torch under half a CPU; generous, paid once per submission
UPLOAD_DIR = "/submission"
GRADER_DIR = "/grader"
VENV_DIR = "/venv"
PACKAGES_DIR = "/packages"
# Where site-packages that the sandbox uid cannot reach are mirrored (hard links), see _mirror_packages.
PACKAGE_MIRRORS = "/var/tmp/autograder-packages"
MAX_TMP_FILES = 1000  # files and folders a session may create in its private folder
CONFINE_FAILED = 71  # a session's exit status when it could not confine itself (child.py)
DISK_CHECK_SECONDS = 0.2  # how often the private folder's size is checked while a session runs
# Read-only paths of the fallback's Landlock rules besides the Python installation.
SYSTEM_READ = (
    "/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives",
    "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/proc", "/sys/devices/system/cpu", "/sys/fs/cgroup",
    "/dev/zero", "/dev/urandom", "/dev/random",
)
# World-writable folders swept for files of the sandbox uid when Landlock could not keep them out.
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


class SandboxError(Exception):
    """The sandbox could not be started or stopped answering; the grader's problem, not the student's."""


class Oversized(SandboxError):
    """An answer larger than ``wire.MAX_ANSWER_BYTES``: the stream cannot be used any more."""


class DiskFull(Exception):
    """The session wrote more to its folder than its limits allow."""


class SessionEnded(Exception):
    """The session ended before answering: it crashed, exited, or ran out of time or memory."""

    def __init__(self, reason: str, code: Optional[int] = None, output: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.output = output


# ---------------------------------------------------------------------------------------------
# Which interpreter, which uid


def _nobody_can_reach(path: str, need: int) -> bool:
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


@dataclass(frozen=True)
class Interpreter:
    """The Python the sandbox runs, as host paths."""

    executable: str
    home: str  # the installation (base prefix): its standard library and shared libraries
    venv: Optional[str]  # the virtual environment whose bin/ holds ``executable``, if any
    packages: Tuple[str, ...] = ()  # site-packages passed by PYTHONPATH (the borrowed-interpreter case)
    nobody_ok: bool = True  # uid 65534 can read all of it

    def describe(self) -> str:
        if self.packages:
            return f"{self.executable} with the packages of {self.venv} (the grader's own Python is private)"
        return self.executable


def _readable_installation(executable: str, home: str, packages: List[str]) -> bool:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = os.path.join(home, "lib", version, "os.py")
    return (
        _nobody_can_reach(executable, stat.S_IXOTH)
        and _nobody_can_reach(stdlib, stat.S_IROTH)
        and all(_nobody_can_reach(p, stat.S_IROTH | stat.S_IXOTH) for p in packages)
    )


def _mirror_packages(path: str) -> Optional[str]:
    """``path`` (a site-packages folder the sandbox uid cannot reach, say in a clone under a 0700
    folder) again, in a place it can: hard links in a folder only root writes, so no data is
    copied (a copy only across filesystems). Made once per state of ``path`` (its inode and
    modification time change when pip installs or removes a package); older states are removed.
    None if no safe place can be had."""
    try:
        os.makedirs(PACKAGE_MIRRORS, mode=0o755, exist_ok=True)
        info = os.lstat(PACKAGE_MIRRORS)
        source = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        return None  # made by someone else: a submission must not be able to plant packages
    family = hashlib.sha256(path.encode()).hexdigest()[:16]
    state = hashlib.sha256(f"{source.st_ino} {source.st_mtime_ns}".encode()).hexdigest()[:8]
    target = os.path.join(PACKAGE_MIRRORS, f"{family}-{state}")
    if os.path.isdir(target):
        return target

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    staging = tempfile.mkdtemp(prefix=".staging-", dir=PACKAGE_MIRRORS)
    try:
        shutil.copytree(path, os.path.join(staging, "packages"), symlinks=True, copy_function=link)
        os.rename(os.path.join(staging, "packages"), target)
    except OSError as exc:
        if not os.path.isdir(target):  # another grader may have made it first
            LOG.warning("cannot mirror %s for the sandbox: %s", path, exc)
            return None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with open(f"{target}.source", "w", encoding="utf-8") as handle:
        handle.write(path)
    _remove_stale_mirrors(keep=target)
    LOG.info("uid %d cannot reach %s: the sandbox reads a hard-linked mirror, %s", NOBODY, path, target)
    return target


def _remove_stale_mirrors(keep: str) -> None:
    """Mirrors of another state of the same folder, or of a folder that is gone (a deleted clone):
    their hard links would keep the old files' data on disk."""
    family = os.path.basename(keep).split("-")[0]
    for name in os.listdir(PACKAGE_MIRRORS):
        mirror = os.path.join(PACKAGE_MIRRORS, name)
        if name.startswith(".") or name.endswith(".source") or mirror == keep:
            continue
        try:
            with open(f"{mirror}.source", encoding="utf-8") as handle:
                gone = not os.path.isdir(handle.read())
        except OSError:
            gone = True
        if gone or name.startswith(f"{family}-"):
            shutil.rmtree(mirror, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.unlink(f"{mirror}.source")


@lru_cache(maxsize=None)
def interpreter() -> Interpreter:
    """This process's Python, if uid 65534 can read it (or we are not root, and switch no uid).

    Otherwise (a root-only install such as pyenv under /root, or a clone in a 0700 folder) the
    system's interpreter of the same version, given this environment's packages by PYTHONPATH,
    mirrored where uid 65534 can read them if need be: the sandbox must not run as root just
    because of where Python or the repository was put."""
    venv = os.path.realpath(sys.prefix) if sys.prefix != sys.base_prefix else None
    home = os.path.realpath(sys.base_prefix)
    packages = sorted({os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")})
    own = Interpreter(sys.executable, home, venv)
    venv_ok = venv is None or _nobody_can_reach(os.path.join(venv, "pyvenv.cfg"), stat.S_IROTH)
    if os.geteuid() != 0 or (venv_ok and _readable_installation(sys.executable, home, packages)):
        return own
    reachable = [p if _nobody_can_reach(p, stat.S_IROTH | stat.S_IXOTH) else _mirror_packages(p) for p in packages]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        system_home = os.path.dirname(os.path.dirname(candidate))
        if os.path.exists(candidate) and None not in reachable and _readable_installation(candidate, system_home, reachable):
            return Interpreter(candidate, system_home, venv or home, tuple(reachable))
    LOG.warning("uid 65534 cannot read %s and there is no system %s: the sandbox runs as root", sys.executable, version)
    return Interpreter(sys.executable, home, venv, (), nobody_ok=False)


def sandbox_uid() -> Optional[int]:
    """The uid submission code runs as: 65534 when we are root and it can read Python; else our own."""
    return NOBODY if os.geteuid() == 0 and interpreter().nobody_ok else None


def _drop_privileges(uid: int = NOBODY) -> None:  # runs in a child between fork and exec
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


# ---------------------------------------------------------------------------------------------
# Isolation modes


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
    drop = _drop_privileges if sandbox_uid() is not None else None
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


def _child_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
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
    env.update(extra or {})
    return env


def _python_binds(python: Interpreter) -> Tuple[List[str], str, List[str]]:
    """bubblewrap arguments that show the interpreter read-only, the interpreter's path inside, and
    the PYTHONPATH inside. A virtual environment appears at the neutral ``/venv``, so the sandbox
    does not even learn the repository's path."""
    binds: List[str] = []
    if not python.home.startswith("/usr"):
        binds += ["--ro-bind", python.home, python.home]
    if python.packages:
        inside = [f"{PACKAGES_DIR}/{i}" for i in range(len(python.packages))]
        for host, path in zip(python.packages, inside):
            binds += ["--ro-bind", host, path]
        return binds, python.executable, inside
    if python.venv is not None:
        binds += ["--ro-bind", python.venv, VENV_DIR]
        return binds, f"{VENV_DIR}/bin/{os.path.basename(python.executable)}", []
    return binds, python.executable, []


def _bwrap_command(child_dir: str, upload_dir: str, tmp_dir: str, python_binds: List[str]) -> List[str]:
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    for path in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    cmd += python_binds
    cmd += ["--ro-bind", child_dir, GRADER_DIR, "--ro-bind", upload_dir, UPLOAD_DIR]
    # /tmp is a folder of ours rather than a tmpfs: on disk, not in the container's memory, and
    # watched and emptied from here (bubblewrap before 0.8 cannot cap a tmpfs's size).
    cmd += ["--bind", tmp_dir, "/tmp", "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp"]
    # bubblewrap's own root and /dev are in-memory file systems without a size cap, writable by
    # the sandbox's uid: make them read-only (device nodes such as /dev/null still work).
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return cmd


def _temp_root() -> Optional[str]:
    """Where the sandbox's folders go: the usual temporary folder, if uid 65534 can traverse it."""
    if sandbox_uid() is None or _nobody_can_reach(tempfile.gettempdir(), stat.S_IXOTH):
        return None
    LOG.warning("%s is closed to uid 65534: the sandbox's folders go to /tmp", tempfile.gettempdir())
    return "/tmp"


def _start_time(pid: int) -> Optional[str]:
    """When process ``pid`` started (clock ticks since boot), to tell it from a later one of that pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


OWNER_FILE = "owner"  # in each sandbox folder: "<pid> <start time>" of the grader that made it


def _sweep_stale(folder: str) -> List[str]:
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
        if _start_time(int(pid)) != started:
            _empty(Path(entry.path))
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def _empty(folder: Path) -> None:
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


def _usage(folder: Path, max_entries: int) -> Tuple[int, int]:
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


def _sweep_shared_tmp(uid: int, since: float) -> List[str]:
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
    _checked: float = field(default=0.0, init=False)

    def __enter__(self) -> "Sandbox":
        self.python = interpreter()
        self.started = time.time()
        root = _temp_root()
        for path in _sweep_stale(root or tempfile.gettempdir()):
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
        (base / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
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
        interpreter_path, pythonpath = self.python.executable, list(self.python.packages)
        if self.isolation.mode == "bubblewrap":
            self.upload_root, self.tmp_inside = UPLOAD_DIR, "/tmp"
            binds, interpreter_path, pythonpath = _python_binds(self.python)
            prefix = _bwrap_command(str(child_dir), str(upload_dir), str(self.tmp_dir), binds)
            script, self._cwd = f"{GRADER_DIR}/child.py", "/"
            self._env = _child_env({"PYTHONPATH": ":".join(pythonpath)} if pythonpath else None)
            self._landlock = None
        else:
            self.upload_root, self.tmp_inside = str(upload_dir), str(self.tmp_dir)
            prefix, script, self._cwd = [], str(child_dir / "child.py"), str(self.tmp_dir)
            extra = {"HOME": str(self.tmp_dir), "TMPDIR": str(self.tmp_dir)}
            if pythonpath:
                extra["PYTHONPATH"] = ":".join(pythonpath)
            self._env = _child_env(extra)
            read = list(SYSTEM_READ) + [self.python.home, *(self.python.packages)]
            read += [self.python.venv] if self.python.venv else []
            read += [os.path.dirname(os.path.realpath(self.python.executable)), str(child_dir), str(upload_dir)]
            self._landlock = {"read": read, "write": [str(self.tmp_dir), "/dev/null"]} if confine.landlock_abi() > 0 else None
        self._command = prefix + [interpreter_path, "-s", "-B", "-P", script]

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
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # The child sees our pipe ends as fds 3 (requests) and 4 (answers).
        fds = [(to_r, 3), (from_w, 4)]
        # bubblewrap itself runs as the sandbox uid (inside its user namespace that uid is the
        # outside one, so RLIMIT_NPROC counts); the fallback's fork server keeps ours, and each
        # session switches before it imports anything.
        drop = self.uid if self.isolation.mode == "bubblewrap" else None
        self._proc = subprocess.Popen(
            self._command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._env,
            cwd=self._cwd,
            pass_fds=(3, 4),
            preexec_fn=_make_preexec(fds, drop),
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
            # Everything below the fork server goes, daemons included (it is their subreaper).
            confine.kill_tree(self._proc.pid, include_root=True, reap=False)
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        self.clean()
        if self.isolation.mode == "fallback" and self.uid is not None and self._landlock is None:
            for path in _sweep_shared_tmp(self.uid, self.started):
                LOG.warning("removed %s, left by the submission", path)

    def restart(self) -> None:
        self._stop()
        self._start()
        self._ready()

    def clean(self) -> None:
        """Empty the sessions' private folder (between sessions: each problem starts clean)."""
        if self._tmp is not None:
            _empty(self.tmp_dir)

    def over_disk(self, limits: Limits) -> Optional[str]:
        """Why the private folder is over its limits, or None."""
        used, count = _usage(self.tmp_dir, MAX_TMP_FILES)
        if count > MAX_TMP_FILES:
            return f"your code created more than {MAX_TMP_FILES} files"
        if used > limits.disk_mb * 1024 * 1024:
            return f"your code wrote more than {limits.disk_mb} MB of files"
        return None

    # -- frames ---------------------------------------------------------------------------------

    def _send(self, message: Dict[str, Any]) -> None:
        try:
            wire.write_frame(self._to, message)
        except (OSError, wire.WireError) as exc:
            raise SandboxError(f"cannot write to the sandbox: {exc}") from exc

    def _read(self, deadline: float, limits: Optional[Limits] = None) -> Optional[Dict[str, Any]]:
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
            frame = wire.read_frame(self._from, wire.MAX_ANSWER_BYTES)
        except wire.WireError as exc:
            if "exceeds" in str(exc):
                raise Oversized(str(exc)) from exc
            raise SandboxError(f"bad frame from the sandbox: {exc}") from exc
        if frame is None:
            raise SandboxError("the sandbox closed its stream")
        if not isinstance(frame, dict):
            raise SandboxError("a frame from the sandbox is not an object")
        return frame

    def session(self, limits: Limits, name: Optional[str] = None) -> "Session":
        """A session on upload ``name`` (the only one when there is one)."""
        if name is None:
            if len(self.uploads) != 1:
                raise SandboxError("name the upload: this sandbox holds several")
            name = next(iter(self.uploads))
        self._ready()
        return Session(self, limits, f"{self.upload_root}/{name}")


def _make_preexec(fds: List[tuple], drop: Optional[int]):
    def preexec() -> None:
        # Move both ends out of the way first, so that placing one cannot overwrite the other.
        high = [(fcntl.fcntl(src, fcntl.F_DUPFD, 10), dst) for src, dst in fds]
        for src, dst in high:
            os.dup2(src, dst)
            os.close(src)
        os.setsid()
        if drop is not None:
            _drop_privileges(drop)

    return preexec


PROTOCOL_BROKEN = "the submission's process wrote to the grader's channel itself and was stopped (did your code use the grader's modules?)"


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
        request: Dict[str, Any] = {"op": "fork", "limits": self.limits.for_child(), "path": self.path, "tmp": self.sandbox.tmp_inside}
        if self.sandbox.isolation.mode == "fallback":
            request["uid"] = self.sandbox.uid
            request["landlock"] = self.sandbox._landlock
        self.sandbox.clean()
        self.sandbox._send(request)
        self.alive = True
        answer = self._answer()
        error = answer.get("error")
        if isinstance(error, dict):
            self.import_error = {key: str(error.get(key, "")) for key in ("type", "message", "traceback")}
            return self
        try:
            imported = wire.decode(answer["ok"])
        except (KeyError, wire.WireError):
            imported = None
        if not (isinstance(imported, list) and all(isinstance(name, str) for name in imported)):
            self._kill()  # only a frame written by the submission itself looks like this
            raise self._end(PROTOCOL_BROKEN)
        self.imported = imported
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.alive:
            try:
                self.sandbox._send({"op": "end"})
                deadline = time.monotonic() + 5.0
                while True:  # answers the session sent beyond the ones asked for, then its exit
                    frame = self.sandbox._read(deadline)
                    if frame is None:
                        self._kill()
                        break
                    if "exit" in frame:
                        break
            except SandboxError:
                self.sandbox.restart()
            self.alive = False
        self.sandbox.clean()

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
                    self.sandbox.clean()
                    return frame["exit"]
        except SandboxError:
            pass
        self.sandbox.restart()
        self.alive = False
        return None

    def _end(self, reason: str, code: Optional[int] = None, output: str = "") -> SessionEnded:
        self.ended = SessionEnded(reason, code, output)
        self.sandbox.clean()
        return self.ended

    def _answer(self) -> Dict[str, Any]:
        if self.ended is not None:
            raise self.ended
        try:
            frame = self.sandbox._read(self.deadline, self.limits)
        except DiskFull as full:
            info = self._kill() or {}
            raise self._end(str(full), output=str(info.get("output", "")))
        except Oversized:
            self.sandbox.restart()
            self.alive = False
            raise self._end(f"your code returned a value larger than {wire.MAX_ANSWER_BYTES // (1024 * 1024)} MB")
        except SandboxError:
            self.sandbox.restart()
            self.alive = False
            raise self._end("the sandbox stopped unexpectedly (did your code end its parent process?)")
        if frame is None:
            info = self._kill() or {}
            raise self._end(
                f"the time limit of {self.limits.time_seconds:g} s for this problem ran out",
                output=str(info.get("output", "")),
            )
        if "exit" in frame:
            self.alive = False
            code = frame["exit"].get("code")
            reason = _exit_reason(code, self.limits)
            if frame["exit"].get("why") == "protocol":
                reason = PROTOCOL_BROKEN
            raise self._end(reason, code, str(frame["exit"].get("output", "")))
        return frame

    def request(self, message: Dict[str, Any], on_callback: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None) -> Dict[str, Any]:
        """Send one request; the answer frame (``ok`` or ``error``), or SessionEnded.

        While the request runs, the submission may call the grader's functions passed to it
        (``wire.Callback``): each such call arrives as a ``callback`` frame, ``on_callback``
        computes the reply, and the wait for the answer goes on (within the same deadline).
        """
        if self.ended is not None:
            raise self.ended
        self.sandbox._send(message)
        answer = self._answer()
        while "callback" in answer:
            if on_callback is None:
                reply = {"op": "reply", "error": {"type": "RuntimeError", "message": "no grader's function is waiting for a call"}}
            else:
                reply = on_callback(answer["callback"])
            self.sandbox._send(reply)
            answer = self._answer()
        return answer


def _exit_reason(code: Optional[int], limits: Limits) -> str:
    if code is None:
        return "the submission's process ended"
    if code == -signal.SIGKILL:
        return f"the submission's process was killed (memory limit {limits.memory_mb} MB or CPU limit reached)"
    if code == -signal.SIGXCPU:
        return f"the submission used more than {limits.time_seconds:g} s of CPU time"
    if code == -signal.SIGSEGV:
        return "the submission's process crashed (segmentation fault)"
    if code == CONFINE_FAILED:
        LOG.error("a session could not confine itself (seccomp, Landlock or the uid switch failed)")
        return "the sandbox could not confine your code, so it did not run it: a problem of the grader, not yours; please tell course staff"
    if code == 70:
        return "the submission's process failed outside your functions (did your file replace Python, numpy or torch functions?)"
    if code < 0:
        return f"the submission's process was ended by signal {signal.Signals(-code).name}"
    return f"the submission's process exited with status {code} (sys.exit or os._exit in the submission?)"
