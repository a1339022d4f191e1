"""Kernel-enforced limits a sandboxed process puts on itself: seccomp, Landlock, process helpers.

This file runs inside the sandbox beside ``child.py`` (it is copied there), so it imports nothing
from the ``autograder`` package; the grader imports it too, to learn what the kernel offers.

- ``deny_syscalls`` installs a seccomp filter (allowed in Docker's default profile, where user
  namespaces are not): no sockets of any family, no io_uring (which can open sockets without the
  ``socket`` call), no ptrace or cross-process memory access, no BPF or perf events. With it, a
  session reaches no network address, loopback included, in every isolation mode.
- ``landlock`` (Linux 5.13+, where the kernel enables it): the filesystem outside a list of
  read-only paths and one writable folder disappears for reading and writing; with ABI 4+ TCP
  is closed too, and with ABI 6+ the process can no longer signal processes outside its domain
  (the fork server, the grader) nor reach abstract Unix sockets. Used by the fallback, where
  there is no private mount namespace.
- ``descendants`` and ``kill_tree``: the processes a session left behind, found through /proc
  (daemons that ``setsid`` and double-fork are re-parented to the subreaper that started them).
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import signal
import struct
import time
from typing import Dict, Iterable, List, Optional, Sequence

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.syscall.restype = ctypes.c_long
_LIBC.prctl.restype = ctypes.c_int
_LIBC.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

# Per architecture: the audit arch value seccomp sees, and the numbers of the denied calls.
_ARCHES: Dict[str, Dict[str, int]] = {
    "x86_64": {
        "AUDIT_ARCH": 0xC000003E, "socket": 41, "socketpair": 53, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
        "request_key": 249, "pidfd_getfd": 438, "landlock_create_ruleset": 444, "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
    "aarch64": {
        "AUDIT_ARCH": 0xC00000B7, "socket": 198, "socketpair": 199, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
        "request_key": 218, "pidfd_getfd": 438, "landlock_create_ruleset": 444, "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
}
_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
_NUMBERS = _ARCHES.get(_MACHINE)
DENIED = (
    "socket", "socketpair", "io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace",
    "process_vm_readv", "process_vm_writev", "pidfd_getfd", "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key",
)


class ConfineError(Exception):
    """A limit the sandbox relies on could not be put in place: the session must not run."""


def _prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    if _LIBC.prctl(option, arg2, arg3, 0, 0) != 0:
        raise ConfineError(f"prctl({option}) failed: {os.strerror(ctypes.get_errno())}")


def no_new_privileges() -> None:
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def become_subreaper() -> None:
    """Orphans of our descendants come to us rather than to init, so none escapes ``kill_tree``."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def not_dumpable() -> None:
    """No process of the same uid may read or write our memory through /proc/<pid>/mem."""
    _prctl(PR_SET_DUMPABLE, 0)


# ---------------------------------------------------------------------------------------------
# seccomp


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_X32_BIT = 0x40000000


def seccomp_program(numbers: Dict[str, int], denied: Sequence[str] = DENIED) -> bytes:
    """A classic-BPF seccomp program: EPERM for the denied calls and for any foreign architecture
    (i386 ``int 0x80``, x32), everything else allowed."""
    deny = "deny"
    program: List[tuple] = [(_LD_W_ABS, 0, 0, 4)]  # seccomp_data.arch
    program.append((_JEQ_K, 0, deny, numbers["AUDIT_ARCH"]))
    program.append((_LD_W_ABS, 0, 0, 0))  # seccomp_data.nr
    if numbers["AUDIT_ARCH"] == _ARCHES["x86_64"]["AUDIT_ARCH"]:
        program.append((_JGE_K, deny, 0, _X32_BIT))
    for name in denied:
        program.append((_JEQ_K, deny, 0, numbers[name]))
    program.append((_RET_K, 0, 0, _RET_ALLOW))
    program.append((_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))
    end = len(program) - 1
    out = b""
    for index, (code, jt, jf, k) in enumerate(program):
        jt = end - index - 1 if jt == deny else jt
        jf = end - index - 1 if jf == deny else jf
        out += struct.pack("=HBBI", code, jt, jf, k)
    return out


def deny_syscalls() -> str:
    """Install the filter on this process (inherited by everything it starts); what it denies."""
    if _NUMBERS is None:
        raise ConfineError(f"no seccomp table for the {_MACHINE} architecture")
    program = seccomp_program(_NUMBERS)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    no_new_privileges()
    _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
    return "no sockets, io_uring, ptrace or BPF"


# ---------------------------------------------------------------------------------------------
# Landlock

_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_V1_ALL = (1 << 13) - 1  # execute ... make_sym
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_ONLY = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_RULE_PATH_BENEATH = 1
_CREATE_RULESET_VERSION = 1


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when it has none (old kernel, disabled, filtered)."""
    if _NUMBERS is None:
        return 0
    version = _LIBC.syscall(ctypes.c_long(_NUMBERS["landlock_create_ruleset"]), ctypes.c_void_p(None), ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def landlock_covers(abi: int) -> str:
    parts = ["files"] if abi >= 1 else []
    if abi >= 4:
        parts.append("TCP")
    if abi >= 6:
        parts += ["signals", "abstract sockets"]
    return ", ".join(parts)


def _handled(abi: int) -> tuple:
    fs = _FS_V1_ALL | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) | (_FS_IOCTL_DEV if abi >= 5 else 0)
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if abi >= 6 else 0
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    return fs, net, scoped, size


def _add_rule(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist here grants nothing
    try:
        if not os.path.isdir(path):
            access &= _FILE_ONLY
        rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd), 12)
        if _LIBC.syscall(ctypes.c_long(_NUMBERS["landlock_add_rule"]), ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), rule, ctypes.c_uint32(0)) != 0:
            raise ConfineError(f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


def landlock(read: Iterable[str], write: Iterable[str]) -> int:
    """Restrict this process to reading ``read`` and reading/writing ``write`` (and, with ABI 4+,
    to no TCP; with ABI 6+, to signalling only its own descendants). The ABI used, 0 if none."""
    abi = landlock_abi()
    if abi <= 0:
        return 0
    fs, net, scoped, size = _handled(abi)
    attr = ctypes.create_string_buffer(struct.pack("=QQQ", fs, net, scoped)[:size], size)
    ruleset = _LIBC.syscall(ctypes.c_long(_NUMBERS["landlock_create_ruleset"]), attr, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise ConfineError(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    try:
        for path in read:
            _add_rule(ruleset, path, _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR)
        for path in write:
            _add_rule(ruleset, path, fs)
        no_new_privileges()
        if _LIBC.syscall(ctypes.c_long(_NUMBERS["landlock_restrict_self"]), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise ConfineError(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)
    return abi


# ---------------------------------------------------------------------------------------------
# Processes


def _parent_of(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold anything, spaces and ')' included.
    fields = stat[stat.rfind(b")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 else None


def descendants(root: int) -> List[int]:
    """Every living process below ``root`` (from /proc; zombies included until reaped)."""
    children: Dict[int, List[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            parent = _parent_of(int(name))
            if parent is not None:
                children.setdefault(parent, []).append(int(name))
    found: List[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_tree(root: int, include_root: bool, reap: bool, rounds: int = 200) -> int:
    """SIGKILL every descendant of ``root`` (then ``root`` itself if asked); how many were killed.

    ``root`` is stopped first and killed last: a subreaper keeps even orphaned descendants in its
    tree, so rescanning until nothing is left catches processes forked between a scan and a kill.
    ``reap`` waits for our own children (only a process's parent may).
    """
    if include_root:
        _signal_all([root], signal.SIGSTOP)
    killed = 0
    for _ in range(rounds):
        alive = [pid for pid in descendants(root) if _state(pid) not in ("Z", "X", None)]
        if not alive:
            break
        _signal_all(alive, signal.SIGSTOP)  # none forks between here and the kill
        _signal_all(alive, signal.SIGKILL)
        killed += len(alive)
        if reap:
            _reap()
        time.sleep(0.002)
    if include_root:
        _signal_all([root], signal.SIGKILL)
    if reap:
        _reap()
    return killed


def _state(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    rest = stat[stat.rfind(b")") + 2:]
    return rest[:1].decode("ascii", "replace") or None


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
