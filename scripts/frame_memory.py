"""Print the grader's peak memory while it grades an upload that floods its answer pipe (a
measurement, never a test).

    .venv/bin/python scripts/frame_memory.py [--mb 16] [--isolation fallback]

The upload is the hw3 reference plus, at import, one answer frame of ``mb`` MB of empty dicts
(``{"ok": [{}, {}, ...]}``) written straight onto the session's own answer pipe, in place of the
answer to "import the file". Printed: the grader's peak RSS (VmHWM of the CLI process), the
largest peak of any other process of the grading (the fork server, its sessions) and the peak
proportional set size (PSS) of the whole tree, what a container's memory limit sees (pages the
fork server shares with its sessions counted once), sampled every 20 ms.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import config as config_mod  # noqa: E402
from autograder.grade.engine import reference_source  # noqa: E402

FLOOD = '''
def _flood(megabytes):
    import gc, os, struct
    session = next(o for o in gc.get_objects() if type(o).__name__ == "Session" and hasattr(o, "wfd"))
    count = (megabytes * 1024 * 1024 - 16) // 3
    body = b'{"ok":[' + b"{}," * (count - 1) + b"{}]}"
    os.write(session.wfd, struct.pack(">I", len(body)))
    view = memoryview(body)
    while view:
        view = view[os.write(session.wfd, view):]

_flood(MEGABYTES)
'''


def _status(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(root: int) -> List[int]:
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=16)
    parser.add_argument("--isolation", default="auto")
    args = parser.parse_args()
    cfg = config_mod.load(ROOT / "grading.toml")
    source = reference_source(cfg, cfg.assignment("hw3")) + FLOOD.replace("MEGABYTES", str(args.mb))
    with tempfile.TemporaryDirectory() as folder:
        upload = Path(folder) / "my_llm_implementation.py"
        upload.write_text(source, encoding="utf-8")
        command = [sys.executable, "-m", "autograder", "grade", str(upload), "--assignment", "hw3", "--results", f"{folder}/results.json", "--isolation", args.isolation]
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        grader_kb, others = 0, {}  # type: int, Dict[int, int]
        tree_kb = 0
        while proc.poll() is None:
            pids = _tree(proc.pid)
            grader_kb = max(grader_kb, _status(proc.pid, "VmHWM"))
            for pid in pids[1:]:
                others[pid] = max(others.get(pid, 0), _status(pid, "VmHWM"))
            tree_kb = max(tree_kb, sum(_pss(pid) for pid in pids))
            time.sleep(0.02)
        err = proc.stderr.read()
        print(f"exit status {proc.returncode}; {err.strip().splitlines()[-1] if err.strip() else ''}")
        print(f"{args.mb} MB answer frame of {{}}: grader peak RSS {grader_kb / 1024:.0f} MB; largest other process {max(others.values(), default=0) / 1024:.0f} MB; whole tree's PSS (sampled) {tree_kb / 1024:.0f} MB")


if __name__ == "__main__":
    main()
