"""How the fork server is started: the bubblewrap command line (what the sandbox sees, and where),
or in the fallback the paths its Landlock rules open; the environment in both modes."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from autograder.sandbox.interpreter import Interpreter
from autograder.sandbox.uids import NOBODY

ARGS_FD = 5  # bubblewrap reads its options from this descriptor (``--args``), see bwrap_command
UPLOAD_DIR = "/submission"
GRADER_DIR = "/grader"
VENV_DIR = "/venv"
PACKAGES_DIR = "/packages"
# Read-only paths of the fallback's Landlock rules besides the Python installation. Of /proc,
# only the session's own process (each session opens "/proc/self" itself, so the rule names its
# own pid) and a few machine-wide files: not the other processes of the machine, whose command
# lines name host paths (the grader's, its temporary folder's).
SYSTEM_READ = (
    "/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives",
    "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/proc/self", "/proc/cpuinfo", "/proc/meminfo",
    "/proc/stat", "/proc/sys/vm/overcommit_memory", "/sys/devices/system/cpu", "/sys/fs/cgroup",
    "/dev/zero", "/dev/urandom", "/dev/random",
)


@dataclass(frozen=True)
class Launch:
    """The fork server's command and surroundings, and where the session finds its files."""

    command: List[str]
    options: bytes  # NUL-separated options bubblewrap reads from ARGS_FD; empty in the fallback
    env: Dict[str, str]
    cwd: str
    upload_root: str  # the upload folder as the sandbox sees it
    tmp_inside: str  # the private folder as the sandbox sees it
    landlock: Optional[Dict[str, Any]]  # the fallback's Landlock paths, None without Landlock


def child_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
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


def python_binds(python: Interpreter) -> Tuple[List[str], str, List[str]]:
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


def bwrap_options(child_dir: str, upload_dir: str, tmp_dir: str, binds: List[str]) -> List[str]:
    """bubblewrap's options. They name host paths (the repository's virtual environment, the
    grader's temporary folder), so they do not go on its command line, which every process in
    the sandbox can read as ``/proc/1/cmdline``: bubblewrap reads them from ``ARGS_FD``."""
    cmd = ["--unshare-all", "--die-with-parent", "--new-session", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    for path in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    cmd += binds
    cmd += ["--ro-bind", child_dir, GRADER_DIR, "--ro-bind", upload_dir, UPLOAD_DIR]
    # /tmp is a folder of ours rather than a tmpfs: on disk, not in the container's memory, and
    # watched and emptied from here (bubblewrap before 0.8 cannot cap a tmpfs's size).
    cmd += ["--bind", tmp_dir, "/tmp", "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp"]
    # bubblewrap's own root and /dev are in-memory file systems without a size cap, writable by
    # the sandbox's uid: make them read-only (device nodes such as /dev/null still work).
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return cmd


def launch(mode: str, python: Interpreter, child_dir: Path, upload_dir: Path, tmp_dir: Path, landlock_abi: int) -> Launch:
    """How to start the fork server over these folders in isolation ``mode``."""
    flags = ["-s", "-B", "-P"]
    if mode == "bubblewrap":
        binds, executable, pythonpath = python_binds(python)
        options = bwrap_options(str(child_dir), str(upload_dir), str(tmp_dir), binds)
        env = child_env({"PYTHONPATH": ":".join(pythonpath)} if pythonpath else None)
        command = ["bwrap", "--args", str(ARGS_FD), executable, *flags, f"{GRADER_DIR}/child.py"]
        return Launch(command, "".join(f"{o}\0" for o in options).encode(), env, "/", UPLOAD_DIR, "/tmp", None)
    extra = {"HOME": str(tmp_dir), "TMPDIR": str(tmp_dir)}
    if python.packages:
        extra["PYTHONPATH"] = ":".join(python.packages)
    read = list(SYSTEM_READ) + [python.home, *python.packages]
    read += [python.venv] if python.venv else []
    read += [os.path.dirname(os.path.realpath(python.executable)), str(child_dir), str(upload_dir)]
    landlock = {"read": read, "write": [str(tmp_dir), "/dev/null"]} if landlock_abi > 0 else None
    command = [python.executable, *flags, str(child_dir / "child.py")]
    return Launch(command, b"", child_env(extra), str(tmp_dir), str(upload_dir), str(tmp_dir), landlock)
