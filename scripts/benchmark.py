"""Print how long grading takes and how much memory it uses (a benchmark, never a test).

    .venv/bin/python scripts/benchmark.py [--assignment hw3] [--repeat 3]

Figures: seconds to grade the reference and a typical wrong submission (a corpus bug), the
share spent starting the sandbox (importing torch) versus running checks, and the peak
proportional set size (PSS) of the whole process tree, which is what a container's memory
limit sees (shared pages counted once).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import config as config_mod  # noqa: E402
from autograder.grade.corpus import upload_text, variants  # noqa: E402
from autograder.grade.engine import grade_source, reference_source  # noqa: E402
from autograder.grade.upload import Upload  # noqa: E402
from autograder.sandbox.runner import Limits, Sandbox, choose_isolation  # noqa: E402


def _children(pid: int) -> List[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found += [int(c) for c in text.split()]
    except OSError:
        pass
    return found


def _tree_pss_kb(root: int) -> int:
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        stack += _children(pid)
    return total


class PeakMemory:
    """Samples the PSS of this process and all its descendants every 20 ms."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import os

        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _tree_pss_kb(os.getpid()))
            time.sleep(0.02)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="hw3")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cfg = config_mod.load(ROOT / "grading.toml")
    assignment = cfg.assignment(args.assignment)
    isolation = choose_isolation()
    bug = variants(ROOT / "tests" / "corpus", assignment)[0]
    uploads: Dict[str, str] = {
        "reference": reference_source(cfg, assignment),
        f"wrong ({bug.path.stem})": upload_text(cfg, assignment, bug),
    }
    grade_source(cfg, assignment, Upload(uploads["reference"]), isolation)  # warm the disk cache

    starts = []
    for _ in range(args.repeat):
        t0 = time.monotonic()
        with Sandbox({"x.py": ""}, isolation) as sandbox:
            with sandbox.session(Limits()):
                pass
        starts.append(time.monotonic() - t0)
    start = statistics.median(starts)
    print(f"machine: {len(__import__('os').sched_getaffinity(0))} cores; isolation: {isolation.describe()}")
    print(f"sandbox start (fork server imports torch, one session): median {start:.2f} s over {args.repeat}")
    for label, source in uploads.items():
        times, peaks, score = [], [], 0.0
        for _ in range(args.repeat):
            with PeakMemory() as memory:
                t0 = time.monotonic()
                grade = grade_source(cfg, assignment, Upload(source), isolation)
                times.append(time.monotonic() - t0)
            peaks.append(memory.peak_kb)
            score = grade.score
        wall = statistics.median(times)
        print(
            f"{args.assignment} {label}: {score:g}/{assignment.total_points:g} points; "
            f"median {wall:.2f} s (min {min(times):.2f}, max {max(times):.2f}); "
            f"start-up {start / wall:.0%}, checks {1 - start / wall:.0%}; "
            f"peak PSS of the process tree {max(peaks) / 1024:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
