"""Print how long grading takes and how much memory it uses (a benchmark, never a test).

    .venv/bin/python scripts/benchmark.py [--assignment hw3] [--repeat 3]

Figures: seconds to grade the reference and a typical wrong submission (a corpus bug), the
share spent starting the sandbox (importing torch) versus running checks, and the peak
proportional set size (PSS) of the whole process tree, which is what a container's memory
limit sees (shared pages counted once). Then the bulk regrade's throughput with 1 and 2 jobs on
20 submissions (corpus variants spread over every problem; ``--regrade 0`` skips it).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import config as config_mod  # noqa: E402
from autograder.config import Limits  # noqa: E402
from autograder.grade.engine import grade_source, imported_modules, reference_source  # noqa: E402
from autograder.sandbox import Isolation, Sandbox, choose_isolation  # noqa: E402
from autograder.staff.corpus import folder, upload_text, variants  # noqa: E402
from autograder.staff.regrade import regrade  # noqa: E402
from autograder.staff.submissions import find  # noqa: E402
from autograder.uploads import Upload  # noqa: E402


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
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _tree_pss_kb(os.getpid()))
            time.sleep(0.02)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu() -> Tuple[float, float]:
    """CPU seconds used so far by this process, and by its children that have ended (the sandbox)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="hw3")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regrade", type=int, default=20, help="submissions for the regrade throughput (0: skip it)")
    args = parser.parse_args()
    cfg = config_mod.load(ROOT / "grading.toml")
    assignment = cfg.assignment(args.assignment)
    isolation = choose_isolation()
    bug = variants(folder(cfg, assignment), assignment)[0]
    uploads: Dict[str, str] = {
        "reference": reference_source(cfg, assignment),
        f"wrong ({bug.path.stem})": upload_text(cfg, assignment, bug),
    }
    grade_source(cfg, assignment, Upload(uploads["reference"]), isolation)  # warm the disk cache

    starts = []
    for _ in range(args.repeat):
        t0 = time.monotonic()
        with Sandbox({"x.py": ""}, isolation, imported_modules(uploads["reference"])) as sandbox:
            with sandbox.session(Limits()):
                pass
        starts.append(time.monotonic() - t0)
    start = statistics.median(starts)
    print(f"machine: {len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f} at the start; isolation: {isolation.describe()}")
    preload = ", ".join(imported_modules(uploads["reference"]))
    print(f"sandbox start (fork server imports torch and preloads {preload}; one session): median {start:.2f} s over {args.repeat}")
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
        # CPU time, less sensitive to other load than wall time. The sandbox's is counted only in
        # fallback mode: bubblewrap's processes do not pass their children's usage up to us.
        own0, children0 = _cpu()
        grade_source(cfg, assignment, Upload(source), Isolation("fallback"))
        own1, children1 = _cpu()
        print(
            f"{args.assignment} {label}: {score:g}/{assignment.total_points:g} points; "
            f"median {wall:.2f} s (min {min(times):.2f}, max {max(times):.2f}); "
            f"start-up {start / wall:.0%}, checks {1 - start / wall:.0%}; "
            f"peak PSS of the process tree {max(peaks) / 1024:.0f} MB; "
            f"CPU time (fallback mode) grader {own1 - own0:.1f} s + sandbox {children1 - children0:.1f} s"
        )
    end_to_end(args.assignment, uploads["reference"])
    if args.regrade:
        regrade_throughput(cfg, assignment, isolation, args.regrade)
    return 0


def end_to_end(assignment_id: str, source: str) -> None:
    """``python -m autograder grade`` in a fresh interpreter, as Gradescope runs it (imports included)."""
    with tempfile.TemporaryDirectory(prefix="benchmark-grade-") as tmp:
        upload = Path(tmp) / "my_llm_implementation.py"
        upload.write_text(source, encoding="utf-8")
        command = [sys.executable, "-m", "autograder", "grade", str(upload), "--assignment", assignment_id, "--results", str(Path(tmp) / "results.json")]
        t0 = time.monotonic()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        print(f"{assignment_id} reference through `python -m autograder grade` (new interpreter, imports included): {time.monotonic() - t0:.2f} s")


def regrade_throughput(cfg: config_mod.Config, assignment: config_mod.Assignment, isolation: Isolation, count: int) -> None:
    """Regrade the same ``count`` submissions with 1 and then 2 jobs, from scratch each time."""
    found = variants(folder(cfg, assignment), assignment)
    picked = [found[i * len(found) // count] for i in range(min(count, len(found)))]
    with tempfile.TemporaryDirectory(prefix="benchmark-regrade-") as tmp:
        class_dir = Path(tmp) / "class"  # not `folder`: that would hide corpus.folder for the whole function
        class_dir.mkdir()
        for index, variant in enumerate(picked):
            (class_dir / f"{index:02d}_{variant.path.stem}.py").write_text(upload_text(cfg, assignment, variant), encoding="utf-8")
        submissions = find(class_dir)
        csvs = []
        for jobs in (1, 2):
            out = Path(tmp) / f"jobs{jobs}.csv"
            with PeakMemory() as memory:
                t0 = time.monotonic()
                batch = regrade(cfg, assignment, submissions, out, isolation, jobs=jobs, progress=False)
                wall = time.monotonic() - t0
            errors = sum(bool(o.error) for o in batch.outcomes)
            csvs.append(out.read_bytes())
            print(
                f"regrade of {len(submissions)} submissions with {jobs} job(s): {wall:.0f} s, "
                f"{len(submissions) / wall * 60:.1f} submissions/minute, {errors} errors; peak PSS {memory.peak_kb / 1024:.0f} MB"
            )
        print(f"regrade CSVs with 1 and 2 jobs identical: {'yes' if csvs[0] == csvs[1] else 'NO'}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (above ~0.5 the figures include other work on the machine)")


if __name__ == "__main__":
    sys.exit(main())
