"""Grade every mutant of an assignment on its own problem, in parallel, and record the outcome.

Mutants are graded as uploads (``grade_uploads``), only on the problem whose region they change:
every other problem runs the reference's code and would score as the reference does. They go
to the regrade worker pool (``staff/pool.py``) in chunks of a few mutants of one problem: one
sandbox start-up per chunk, several chunks at once with ``jobs`` workers. All mutants are staff
code (trusted to share a sandbox, as the corpus does). The first chunk of every problem also
grades the unmutated reference, which must keep full marks, or the run says so and stops.

Every call into the pool is in ``_grade_chunks``.
"""
from __future__ import annotations

import dataclasses
import datetime
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from autograder.config import Assignment, Config
from autograder.sandbox import START_TIMEOUT, Isolation
from autograder.staff.mutate import MutateError
from autograder.staff.mutate import equivalents as equivalents_mod
from autograder.staff.mutate import record as record_mod
from autograder.staff.mutate.mutants import Mutant, Skipped, generate

CHUNK = 6  # mutants per sandbox: start-up (~2 s) shared, while a stuck chunk costs little
PER_PROBLEM_ALLOWANCE = 10.0  # beyond a problem's time limit, as regrade allows
REFERENCE = "reference"
IMPORT_FAILED = ("importing your file",)  # how the engine's note starts when the upload did not import


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, crashed, error
    score: float
    points: float
    detail: str  # the first failing check or note, or why grading failed

    def to_json(self, with_diff: bool) -> Dict[str, Any]:
        m = self.mutant
        out = {
            "id": m.id, "operator": m.operator, "file": m.file, "function": m.function, "line": m.line,
            "what": m.what, "status": self.status, "score": round(self.score, 6), "detail": self.detail[:300],
        }
        if with_diff:
            out["diff"] = m.diff
        return out


@dataclass
class Run:
    assignment: Assignment
    outcomes: List[Outcome]
    skipped: List[Skipped]
    seconds: float
    record: Dict[str, Any]
    accepted: Dict[str, equivalents_mod.Equivalent]
    problems: Tuple[str, ...]  # the problems run


# ---------------------------------------------------------------------------------------------
# The worker side (a spawned process; plain data in and out)


def worker(init: Dict[str, Any]) -> Callable[[Dict[str, Any]], Dict[str, Dict[str, Any]]]:
    """The pool's handler: load the set-up once, then grade one chunk of mutants per call."""
    from pathlib import Path

    from autograder import config as config_mod
    from autograder.grade.engine import grade_uploads
    from autograder.uploads import Upload

    config = config_mod.load(Path(init["config"]))
    assignment: Assignment = init["assignment"]
    isolation = Isolation(init["isolation"])

    def handle(task: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
        problem = task["problem"]
        uploads = {label: Upload(source) for label, source in task["uploads"].items()}
        graded = grade_uploads(config, assignment, uploads, isolation, {label: [problem] for label in uploads})
        out = {}
        for label, grade in graded.items():
            result = next(r for r in grade.problems if r.problem.id == problem)
            failed = [f"{c.name}: {c.message.splitlines()[0] if c.message else ''}" for c in result.checks if not c.passed]
            out[label] = {"score": result.score, "points": result.problem.points, "note": result.note, "failed": failed}
        return out

    return handle


# ---------------------------------------------------------------------------------------------
# The parent side


def _status(graded: Dict[str, Any]) -> Tuple[str, str]:
    note = graded["note"] or ""
    if note.startswith(IMPORT_FAILED):
        return "crashed", note.splitlines()[0]
    if graded["score"] < graded["points"] - 1e-9:
        # A check with no message of its own failed because the session ended (a time limit,
        # a crash): the note says why, and a timeout under load must be visible as one.
        first = (graded["failed"] or [""])[0].strip()
        reason = note.strip().splitlines()[0] if note.strip() else ""
        return "killed", f"{first} {reason}".strip() if first.endswith(":") or not first else first
    return "survived", ""


def _grade_chunks(
    config: Config, assignment: Assignment, chunks: List[Tuple[str, Dict[str, str]]], isolation: Isolation, jobs: int,
    on_chunk: Callable[[str, Any], None],
) -> None:
    """The one place that uses the pool: ``on_chunk(key, {label: graded} or Failure)`` per chunk."""
    from autograder.staff.pool import Pool

    longest = max((len(uploads) for _, uploads in chunks), default=1)
    limit = max(p.limits.time_seconds for p in assignment.problems)
    cap = 2 * START_TIMEOUT + longest * (limit + PER_PROBLEM_ALLOWANCE)
    init = {"config": str(config.path), "assignment": assignment, "isolation": isolation.mode}
    tasks = [(f"{problem}#{index}", {"problem": problem, "uploads": uploads}) for index, (problem, uploads) in enumerate(chunks)]
    Pool("autograder.staff.mutate.run:worker", init, max(1, jobs), cap).run(tasks, on_chunk)


def _with_time_limit(assignment: Assignment, seconds: Optional[float]) -> Assignment:
    if seconds is None:
        return assignment
    problems = tuple(
        dataclasses.replace(p, limits=dataclasses.replace(p.limits, time_seconds=min(p.limits.time_seconds, seconds))) for p in assignment.problems
    )
    return dataclasses.replace(assignment, problems=problems)


def mutate(
    config: Config,
    assignment: Assignment,
    isolation: Isolation,
    problems: Optional[Sequence[str]] = None,
    jobs: int = 1,
    max_per_problem: Optional[int] = None,
    time_limit: Optional[float] = None,
    progress: bool = True,
) -> Run:
    """Generate, grade and record the mutants of ``assignment`` (of ``problems`` only, if given)."""
    from autograder.grade.engine import reference_source
    from autograder.staff.pool import Failure

    started = time.monotonic()
    unknown = [p for p in problems or () if p not in {q.id for q in assignment.problems}]
    if unknown:
        raise MutateError(f"--problem {', '.join(unknown)}: not a problem of {assignment.id} ({', '.join(p.id for p in assignment.problems)})")
    ids = tuple(p.id for p in assignment.problems)
    accepted = equivalents_mod.load(equivalents_mod.path_for(config.root, assignment.id), ids)
    mutants, skipped = generate(config, assignment, problems, max_per_problem)
    chosen = tuple(problems) if problems else ids
    by_problem: Dict[str, List[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_problem[mutant.problem].append(mutant)
    reference = reference_source(config, assignment)
    chunks: List[Tuple[str, Dict[str, str]]] = []
    for problem in chosen:
        share = by_problem.get(problem, [])
        for start in range(0, max(len(share), 1), CHUNK):
            uploads = {m.id: m.upload for m in share[start : start + CHUNK]}
            if start == 0:
                uploads = {REFERENCE: reference, **uploads}
            chunks.append((problem, uploads))
    by_id = {m.id: m for m in mutants}
    outcomes: Dict[str, Outcome] = {}
    broken: List[str] = []

    def on_chunk(key: str, value: Any) -> None:
        problem, index = key.split("#")
        labels = list(chunks[int(index)][1])
        if isinstance(value, Failure):
            for label in labels:
                if label != REFERENCE:
                    outcomes[label] = Outcome(by_id[label], "error", 0.0, 0.0, value.reason)
        else:
            for label, graded in value.items():
                status, detail = _status(graded)
                if label == REFERENCE:
                    if status != "survived":
                        broken.append(f"{problem}: the reference scores {graded['score']:g}/{graded['points']:g} ({detail})")
                    continue
                outcomes[label] = Outcome(by_id[label], status, graded["score"], graded["points"], detail)
        if progress:
            done = sum(1 for o in outcomes.values() if o.mutant.problem == problem)
            counts = defaultdict(int)
            for o in outcomes.values():
                if o.mutant.problem == problem:
                    counts[o.status] += 1
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            print(f"{problem}: {done}/{len(by_problem.get(problem, []))} graded ({summary}) at {time.monotonic() - started:.0f} s", file=sys.stderr)

    _grade_chunks(config, _with_time_limit(assignment, time_limit), chunks, isolation, jobs, on_chunk)
    if broken:
        raise MutateError(f"the reference of {assignment.id} loses points, so no mutant can be judged; fix it first:\n- " + "\n- ".join(broken))
    ordered = [outcomes[m.id] for m in mutants]
    seconds = time.monotonic() - started
    written = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    entries = {}
    for problem in chosen:
        mine = [o for o in ordered if o.mutant.problem == problem]
        entries[problem] = {
            "written": written,
            "seconds": round(seconds, 1),  # the whole run's wall time (problems run together share it)
            "jobs": jobs,
            "max_per_problem": max_per_problem,
            "time_limit": time_limit,
            "mutants": [o.to_json(with_diff=o.status == "survived") for o in mine],
        }
    data = record_mod.write(record_mod.path_for(config, assignment), config, assignment, entries)
    return Run(assignment, ordered, skipped, seconds, data, accepted, chosen)
