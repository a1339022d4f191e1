"""Print how long grading takes and how much it uses (a benchmark that prints figures, never a test).

    .venv/bin/python scripts/benchmark.py [--assignment hw3]... [--repeat 3] [--regrade 20] [--otter]

For each assignment (all three by default; ``--assignment`` is repeatable), one block:

- ``import torch`` in a new interpreter: wall and CPU seconds, the yardstick of the goals;
- ``python -m autograder grade`` of the reference, of the blank stubs (the project's own stub
  generator) and of an upload that raises at import, each in a new interpreter (imports
  included): wall and CPU seconds of the WHOLE process tree (grader, bubblewrap, the sandbox's
  fork server and its sessions), each as a multiple of ``import torch``, against the goals
  (wall <= 2x, CPU <= 3x), and the peak PSS of that tree for the reference;
- the in-process floor: the same checks against the reference in this process, no sandbox
  (``scripts/bench_floor.py``, benchmark only), and the end-to-end run as a multiple of it;
- the bulk regrade's throughput with 1 and 2 jobs (``--regrade 0`` skips it).

Then a summary table, and with ``--otter`` the comparison with otter-grader 7.0.0 on three hw3
problems (``scripts/otter_benchmark.py``). Every figure is a median over ``--repeat`` runs.
CPU time of a process tree is read from a cgroup v1 ``cpuacct`` group made for each run (exact,
sandbox included: its processes are SIGKILLed in a PID namespace, where RUSAGE_CHILDREN cannot
see them); where no such group can be made, by sampling ``/proc/<pid>/stat`` of every
descendant every 20 ms (a lower bound). The output says which.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import config as config_mod  # noqa: E402
from autograder.assign.export import merge  # noqa: E402
from autograder.build.release import stubs  # noqa: E402
from autograder.grade.engine import reference_source  # noqa: E402
from autograder.sandbox import Isolation, choose_isolation  # noqa: E402
from autograder.staff.corpus import folder, upload_text, variants  # noqa: E402
from autograder.staff.regrade import regrade  # noqa: E402
from autograder.staff.submissions import find  # noqa: E402

ASSIGNMENTS = ("hw3", "pico-llm", "decoding-lab")
WALL_GOAL, CPU_GOAL = 2.0, 3.0  # multiples of one `import torch` (issue 13)
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# Measuring a process tree


def _children(pid: int) -> List[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found += [int(c) for c in text.split()]
    except OSError:
        pass
    return found


def _tree(root: int) -> Set[int]:
    seen: Set[int] = set()
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack += _children(pid)
    return seen


def _pss_kb(pids: Set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _cpu_ticks(pid: int) -> Optional[int]:
    """utime + stime of one process (its own, not its children's), in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted after the name
    except (OSError, IndexError, ValueError):
        return None


def _tree_pss_kb(root: int) -> int:
    return _pss_kb(_tree(root))


class PeakMemory:
    """Samples the PSS of this process and all its descendants every 20 ms (the regrade's)."""

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


class CpuGroup:
    """A cgroup v1 cpuacct group for one run: its ``cpuacct.usage`` counts every process that
    ever ran in it, whatever namespace it moved to and however it ended."""

    count = 0

    def __init__(self) -> None:
        CpuGroup.count += 1
        self.path = CPUACCT / f"autograder-benchmark-{os.getpid()}-{CpuGroup.count}"
        self.path.mkdir()

    def enter(self) -> None:
        """In the child, before exec (``preexec_fn``): join the group."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> Set[int]:
        try:
            return {int(p) for p in (self.path / "cgroup.procs").read_text().split()}
        except OSError:
            return set()

    def close(self) -> float:
        """CPU seconds of the whole tree, once its last process has gone (waits up to 10 s)."""
        deadline = time.monotonic() + 10.0
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.02)
        left = self.pids()
        seconds = int((self.path / "cpuacct.usage").read_text()) / 1e9
        if not left:
            self.path.rmdir()
        else:
            print(f"  warning: {len(left)} process(es) still in {self.path} 10 s after the run ended: {sorted(left)}")
        return seconds


def cgroup_works() -> bool:
    try:
        group = CpuGroup()
    except OSError:
        return False
    probe = subprocess.run([sys.executable, "-c", "sum(range(10**6))"], preexec_fn=group.enter, check=False)
    seconds = group.close()
    return probe.returncode == 0 and seconds > 0


CPU_METHOD = {
    True: "cgroup v1 cpuacct.usage of a group made for each run (exact for the whole tree)",
    False: "sampling /proc/<pid>/stat utime+stime of every descendant every 20 ms (a lower bound: no writable cgroup v1 cpuacct here)",
}


@dataclass
class TreeRun:
    wall: float
    cpu: float
    peak_kb: int
    returncode: int
    output: str


def run_tree(command: Sequence[str], use_cgroup: bool, memory: bool = False, cwd: Path = ROOT, env: Optional[Dict[str, str]] = None) -> TreeRun:
    """Run ``command`` in a new process; wall and CPU seconds of its whole tree, and (with
    ``memory``) its peak PSS, sampled every 20 ms."""
    group = CpuGroup() if use_cgroup else None
    seen: Dict[int, int] = {}  # pid -> last CPU ticks sampled (fallback)
    peak = [0]
    stop = threading.Event()
    t0 = time.monotonic()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=group.enter if group else None
    )

    def sample() -> None:
        while not stop.is_set():
            pids = (group.pids() if group else set()) | _tree(process.pid)
            if memory:
                peak[0] = max(peak[0], _pss_kb(pids))
            if group is None:
                for pid in pids:
                    ticks = _cpu_ticks(pid)
                    if ticks is not None:
                        seen[pid] = max(seen.get(pid, 0), ticks)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    if memory or group is None:
        sampler.start()
    output, _ = process.communicate()
    wall = time.monotonic() - t0
    stop.set()
    if sampler.is_alive():
        sampler.join()
    cpu = group.close() if group else sum(seen.values()) / TICKS
    return TreeRun(wall, cpu, peak[0], process.returncode, output.decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------------
# The runs


def torch_import(use_cgroup: bool) -> TreeRun:
    return run_tree([sys.executable, "-c", "import torch"], use_cgroup)


def grade_command(upload: Path, assignment_id: str, results: Path) -> List[str]:
    return [sys.executable, "-m", "autograder", "grade", str(upload), "--assignment", assignment_id, "--results", str(results)]


def results_score(path: Path) -> str:
    try:
        return f"{json.loads(path.read_text(encoding='utf-8'))['score']:g}"
    except (OSError, ValueError, KeyError):
        return "?"


@dataclass
class Series:
    """Repeated runs of one thing: medians, and what the last run scored."""

    walls: List[float]
    cpus: List[float]
    score: str = ""
    peak_kb: int = 0

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def uploads_of(cfg: config_mod.Config, assignment: config_mod.Assignment) -> Dict[str, str]:
    reference = reference_source(cfg, assignment)
    blank = merge(list(stubs(cfg, assignment).items()), f"{assignment.upload}: the untouched stubs.")
    raises = reference + '\n\nraise RuntimeError("benchmark: this upload raises when it is imported")\n'
    return {"reference": reference, "blank stubs": blank, "raises at import": raises}


def goal(ratio: float, limit: float) -> str:
    return f"goal <= {limit:g}x {'met' if ratio <= limit else 'NOT met'}"


def assignment_block(cfg: config_mod.Config, assignment_id: str, repeat: int, use_cgroup: bool, regrade_count: int, isolation: Isolation) -> Dict[str, object]:
    import bench_floor  # noqa: PLC0415 - scripts/ is sys.path[0]; benchmark only

    assignment = cfg.assignment(assignment_id)
    total = f"{assignment.total_points:g}"
    print(f"\n== {assignment_id}: {len(assignment.problems)} problems, {total} points, upload {assignment.upload} ==")
    uploads = uploads_of(cfg, assignment)
    torch_runs = Series([], [])
    graded = {label: Series([], []) for label in uploads}
    with tempfile.TemporaryDirectory(prefix="benchmark-grade-") as tmp:
        paths = {}
        for index, (label, source) in enumerate(uploads.items()):
            folder_ = Path(tmp) / f"u{index}"
            folder_.mkdir()
            paths[label] = folder_ / assignment.upload
            paths[label].write_text(source, encoding="utf-8")
        results = Path(tmp) / "results.json"
        run_tree(grade_command(paths["reference"], assignment_id, results), use_cgroup)  # warm the disk cache
        for _ in range(repeat):  # interleaved, so that a change of load touches all alike
            run = torch_import(use_cgroup)
            torch_runs.walls.append(run.wall)
            torch_runs.cpus.append(run.cpu)
            for label, path in paths.items():
                run = run_tree(grade_command(path, assignment_id, results), use_cgroup)
                if run.returncode != 0:
                    print(f"  {label}: `autograder grade` exited with status {run.returncode}:\n{run.output[-2000:]}")
                graded[label].walls.append(run.wall)
                graded[label].cpus.append(run.cpu)
                graded[label].score = results_score(results)
        memory = run_tree(grade_command(paths["reference"], assignment_id, results), use_cgroup, memory=True)
        graded["reference"].peak_kb = memory.peak_kb
    print(f"import torch (new interpreter): wall {torch_runs.wall:.2f} s, CPU {torch_runs.cpu:.2f} s (median of {repeat})")
    for label, series in graded.items():
        wall_ratio, cpu_ratio = series.wall / torch_runs.wall, series.cpu / torch_runs.cpu
        line = (
            f"grade {label}: {series.score}/{total}; wall {series.wall:.2f} s = {wall_ratio:.1f}x torch ({goal(wall_ratio, WALL_GOAL)}), "
            f"CPU {series.cpu:.2f} s = {cpu_ratio:.1f}x torch ({goal(cpu_ratio, CPU_GOAL)})"
        )
        if label == "reference":
            line += f"; peak PSS {series.peak_kb / 1024:.0f} MB (one more run)"
        elif label == "raises at import":
            line += f"; no slower than the reference: {'yes' if series.wall <= graded['reference'].wall else 'NO'}"
        print(line)
    floors = [bench_floor.run_checks(cfg, assignment) for _ in range(repeat)]
    floor = Series([f.seconds for f in floors], [f.cpu for f in floors], f"{floors[-1].score:g}")
    reference = graded["reference"]
    print(
        f"in-process floor (the same {floors[-1].checks} checks on the reference in this process, no sandbox, imports done): "
        f"{floor.score}/{total}; wall {floor.wall:.2f} s, CPU {floor.cpu:.2f} s; end to end = {reference.wall / floor.wall:.1f}x wall, "
        f"{reference.cpu / floor.cpu:.1f}x CPU of the floor"
    )
    if regrade_count:
        regrade_throughput(cfg, assignment, isolation, regrade_count)
    return {"torch": torch_runs, "graded": graded, "floor": floor, "total": total}


def regrade_throughput(cfg: config_mod.Config, assignment: config_mod.Assignment, isolation: Isolation, count: int) -> None:
    """Regrade the same ``count`` submissions with 1 and then 2 jobs, from scratch each time."""
    found = variants(folder(cfg, assignment), assignment)
    picked = [found[i * len(found) // count] for i in range(min(count, len(found)))]
    parts = []
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
            parts.append(f"{jobs} job(s) {wall:.0f} s = {len(submissions) / wall * 60:.1f}/min, {errors} errors, peak PSS {memory.peak_kb / 1024:.0f} MB")
    same = "yes" if csvs[0] == csvs[1] else "NO"
    print(f"regrade of {len(submissions)} submissions: {'; '.join(parts)}; CSVs identical: {same}")


def summary(blocks: Dict[str, Dict[str, object]]) -> None:
    header = ["assignment", "torch wall/CPU", "reference wall (x torch)", "reference CPU (x torch)", "blank wall/CPU", "raises wall/CPU", "floor wall/CPU", "ref/floor wall", "peak PSS"]
    rows = [header]
    for name, block in blocks.items():
        torch_runs: Series = block["torch"]  # type: ignore[assignment]
        graded: Dict[str, Series] = block["graded"]  # type: ignore[assignment]
        floor: Series = block["floor"]  # type: ignore[assignment]
        ref = graded["reference"]
        rows.append([
            name,
            f"{torch_runs.wall:.2f}/{torch_runs.cpu:.2f} s",
            f"{ref.wall:.2f} s ({ref.wall / torch_runs.wall:.1f}x, goal 2x)",
            f"{ref.cpu:.2f} s ({ref.cpu / torch_runs.cpu:.1f}x, goal 3x)",
            f"{graded['blank stubs'].wall:.2f}/{graded['blank stubs'].cpu:.2f} s",
            f"{graded['raises at import'].wall:.2f}/{graded['raises at import'].cpu:.2f} s",
            f"{floor.wall:.2f}/{floor.cpu:.2f} s",
            f"{ref.wall / floor.wall:.1f}x",
            f"{ref.peak_kb / 1024:.0f} MB",
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print("\n== summary (medians; goals are multiples of one `import torch`) ==")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", action="append", choices=ASSIGNMENTS, help="repeatable; default: all three")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regrade", type=int, default=20, help="submissions for the regrade throughput (0: skip it)")
    parser.add_argument("--otter", action="store_true", help="also compare with otter-grader 7.0.0 on three hw3 problems (scripts/otter_benchmark.py)")
    args = parser.parse_args()
    cfg = config_mod.load(ROOT / "grading.toml")
    isolation = choose_isolation()
    use_cgroup = cgroup_works()
    started = time.monotonic()
    print(
        f"machine: {len(os.sched_getaffinity(0))} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) at the start; "
        f"python {sys.executable}"
    )
    print(f"isolation: {isolation.describe()}")
    print(f"CPU time of a process tree: {CPU_METHOD[use_cgroup]}; --repeat {args.repeat}")
    blocks = {name: assignment_block(cfg, name, args.repeat, use_cgroup, args.regrade, isolation) for name in args.assignment or ASSIGNMENTS}
    summary(blocks)
    if args.otter:
        import otter_benchmark  # noqa: PLC0415 - scripts/ is sys.path[0]

        otter_benchmark.compare(cfg, args.repeat, use_cgroup, run_tree, torch_import)
    print(
        f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) at the end, after {(time.monotonic() - started) / 60:.0f} min "
        "(on 2 cores, above ~0.5 at the start the figures include other work on the machine)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
