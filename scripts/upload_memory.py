"""Peak memory of the grader while it reads hostile uploads (issue 12): a measurement, not a test.

    .venv/bin/python scripts/upload_memory.py [--root REPO]

Builds two uploads and grades each with ``python -m autograder grade`` run from ``--root`` (this
repository by default; another checkout to compare), sampling the resident memory (RSS) of the
grader's whole process tree every 10 ms, and prints the peak:
- a zip of 199 members of 5 MB of zeros each (compressed to a few KB each);
- a folder of 300 sparse files of 5 MB each.
Neither holds a gradable file, so no sandbox starts: the figure is the reading of the upload.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _tree(pid: int) -> List[int]:
    """``pid`` and its descendants, from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def peak_rss(command: List[str], cwd: Path) -> tuple:
    """(peak RSS of the process tree in bytes, exit status)."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_rss(p) for p in _tree(process.pid)))
        time.sleep(0.01)
    return peak, process.returncode


def zip_bomb(path: Path) -> Path:
    block = bytes(5 * MB)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(199):
            archive.writestr(f"data/part{i:03d}.bin", block)
    return path


def sparse_folder(path: Path) -> Path:
    path.mkdir()
    for i in range(300):
        with open(path / f"part{i:03d}.bin", "wb") as handle:
            handle.truncate(5 * MB)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose grader is measured (default: this one)")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        uploads = {"zip of 199 x 5 MB members": zip_bomb(work / "bomb.zip"), "folder of 300 sparse 5 MB files": sparse_folder(work / "sparse")}
        baseline = [sys.executable, "-c", "import autograder.grade.engine"]
        peak, _ = peak_rss(baseline, root)
        print(f"{root}: importing the grader alone: peak {peak / MB:.0f} MB")
        for label, upload in uploads.items():
            size = upload.stat().st_size if upload.is_file() else sum(p.stat().st_blocks * 512 for p in upload.iterdir())
            command = [sys.executable, "-m", "autograder", "grade", str(upload), "--assignment", "hw3", "--results", str(work / "r.json")]
            peak, status = peak_rss(command, root)
            print(f"{label} ({size / 1024:.0f} KB on disk): peak RSS of the grader's process tree {peak / MB:.0f} MB (exit status {status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
