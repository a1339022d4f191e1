"""Which Python the sandbox runs, and where it reads packages from when uid 65534 cannot reach
the grader's own (a root-only install, a clone in a 0700 folder): a hard-linked mirror."""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Tuple

from autograder.sandbox.uids import NOBODY, nobody_can_reach

LOG = logging.getLogger(__name__)
# Where site-packages that the sandbox uid cannot reach are mirrored (hard links), see mirror_packages.
PACKAGE_MIRRORS = "/var/tmp/autograder-packages"


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
        nobody_can_reach(executable, stat.S_IXOTH)
        and nobody_can_reach(stdlib, stat.S_IROTH)
        and all(nobody_can_reach(p, stat.S_IROTH | stat.S_IXOTH) for p in packages)
    )


def mirror_packages(path: str) -> Optional[str]:
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
    venv_ok = venv is None or nobody_can_reach(os.path.join(venv, "pyvenv.cfg"), stat.S_IROTH)
    if os.geteuid() != 0 or (venv_ok and _readable_installation(sys.executable, home, packages)):
        return own
    reachable = [p if nobody_can_reach(p, stat.S_IROTH | stat.S_IXOTH) else mirror_packages(p) for p in packages]
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
