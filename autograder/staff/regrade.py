"""Grade a whole class after the deadline: every submission in its own sandbox, in parallel, into one CSV.

Each submission is graded exactly as ``python -m autograder grade`` grades it (``grade_path``,
one sandbox per submission: two students' files are never in one sandbox, where they could read
each other's code), by ``jobs`` worker processes. One submission that hangs, crashes the grader
or kills its worker becomes a row with an error; the batch goes on. Results are kept per
submission in the state folder next to the CSV (see ``state``), so an interrupted batch resumes
where it stopped, and a second run regrades nothing that is done.
"""
from __future__ import annotations

import csv
import io
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from autograder.config import Assignment, Config
from autograder.safe_text import csv_cell, one_line
from autograder.sandbox import START_TIMEOUT, Isolation, close_to_others
from autograder.staff.pool import Failure, Pool
from autograder.staff.shards import Shard, record, select
from autograder.staff.state import GRADER_ERROR, OVER_TIME, Outcome, State
from autograder.staff.submissions import Submission, Submitter, fingerprint
from autograder.uploads import EMPTY_OR_BINARY

LOG = logging.getLogger(__name__)
PER_PROBLEM_ALLOWANCE = 10.0  # beyond a problem's time limit: ending a session that overran it


class Interrupted(Exception):
    """Ctrl-C: what is done is kept; the same command resumes."""

    def __init__(self, done: int, total: int, state: Path):
        super().__init__(f"interrupted: {done} of {total} submissions have results in {state}; run the same command again to resume")


@dataclass(frozen=True)
class Batch:
    """What a regrade did: the outcomes in CSV order, and how many were graded now."""

    outcomes: List[Outcome]
    graded: int
    resumed: int
    state: State


def default_cap(assignment: Assignment) -> float:
    """Wall-clock seconds after which one submission's grading is stopped: every problem may use
    its whole time limit, plus starting the sandbox twice (once more if it had to be restarted);
    never more than the submission's own time budget (``submission_time_limit``) plus the same
    allowances, since the grader itself stops grading when that budget runs out."""
    every_problem = sum(p.limits.time_seconds + PER_PROBLEM_ALLOWANCE for p in assignment.problems)
    return 2 * START_TIMEOUT + min(every_problem, assignment.time_budget + PER_PROBLEM_ALLOWANCE)


# ---------------------------------------------------------------------------------------------
# The worker side (runs in a spawned process; plain data in and out)


def grader(init: Dict[str, Any]) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    """The worker's handler: load the grading set-up once, then grade one submission per call."""
    from autograder import config as config_mod

    config = config_mod.load(Path(init["config"]))
    assignment: Assignment = init["assignment"]  # as the caller has it (it may be narrowed to some problems)
    isolation = Isolation(init["isolation"])
    state = State(Path(init["state"]))
    from autograder.grade.engine import prepare

    prepare(config, assignment)  # imports and checks now, before the first submission's cap runs

    def handle(task: Dict[str, Any]) -> Dict[str, Any]:
        people = tuple(Submitter(**p) for p in task["submitters"])
        outcome, results = grade_one(config, assignment, isolation, task["id"], Path(task["path"]), people, task["upload"], task.get("staff_named", False))
        state.save(outcome, results)
        return outcome.to_json()

    return handle


def grade_one(
    config: Config, assignment: Assignment, isolation: Isolation, ident: str, path: Path, people: Tuple[Submitter, ...], upload: str,
    staff_named: bool = False,
) -> Tuple[Outcome, Dict[str, Any]]:
    """(Outcome, results.json) of one submission; a failure of the grader itself is an error row.
    ``staff_named``: ``path`` is a file named by its id (see ``Submission.staff_named``)."""
    from autograder.grade import results as results_mod
    from autograder.grade.engine import grade_path

    started = time.monotonic()
    try:
        grade = grade_path(config, assignment, path, isolation, staff_named)
    except Exception as exc:  # noqa: BLE001 - one submission's failure must not stop the batch
        LOG.exception("grading %r failed", ident)  # %r: ids are file names, shown escaped
        error = f"the grader failed: {type(exc).__name__}: {str(exc)[:300]}"
        return Outcome(ident, people, {}, None, time.monotonic() - started, error, upload, GRADER_ERROR), results_mod.internal_error_results()
    outcome = Outcome(ident, people, grade.by_problem(), grade.score, grade.seconds, "", upload, grade.status, list(grade.unfinished))
    return outcome, results_mod.to_results(grade)


# ---------------------------------------------------------------------------------------------
# The parent side


def _line(outcome: Outcome, assignment: Assignment) -> str:
    """The progress line of one submission; its id (a file name from DIR) is shown escaped."""
    if outcome.error:
        return f"{one_line(outcome.id)}: ERROR {one_line(outcome.error)}"
    return f"{one_line(outcome.id)}: {outcome.total:g}/{assignment.total_points:g} in {outcome.seconds:.1f} s"


def regrade(
    config: Config,
    assignment: Assignment,
    submissions: List[Submission],
    csv_path: Path,
    isolation: Isolation,
    jobs: int = 1,
    cap_seconds: Optional[float] = None,
    fresh: bool = False,
    retry_errors: bool = False,
    progress: bool = True,
    shard: Optional[Shard] = None,
) -> Batch:
    """Grade every submission not graded before; write ``csv_path`` (sorted by id) from all of them.
    With ``shard``, only that shard's share of ``submissions`` (see ``shards``)."""
    from tqdm import tqdm

    state = State.beside(Path(csv_path))
    state.open(config, assignment, fresh)
    if shard is not None:
        submissions = select(submissions, shard)
        record(state, shard, submissions)
    if isolation.mode == "fallback":
        close_to_others([state.folder] + sorted({s.path.parent for s in submissions if s.path is not None}))
    outcomes: Dict[str, Outcome] = {}
    tasks = []
    resumed = 0
    for submission in submissions:
        upload = fingerprint(submission.path)
        done = state.done(submission, upload, retry_errors)
        if done is not None:
            outcomes[submission.id] = done
            resumed += 1
        elif submission.path is None:
            reason = submission.error or "listed in submission_metadata.yml, but its folder is missing"
            missing = Outcome(submission.id, submission.submitters, error=reason, upload=upload, status=EMPTY_OR_BINARY)
            state.save(missing, {"score": 0, "tests": [], "output": missing.error})
            outcomes[submission.id] = missing
        else:
            people = [{"name": p.name, "email": p.email, "sid": p.sid} for p in submission.submitters]
            task = {"id": submission.id, "path": str(submission.path), "submitters": people, "upload": upload, "staff_named": submission.staff_named}
            tasks.append((submission.id, task))
    uploads = {key: task["upload"] for key, task in tasks}
    by_id = {s.id: s for s in submissions}
    cap = cap_seconds or default_cap(assignment)
    # disable=None: a bar on a terminal only; the per-submission lines are written either way.
    bar = tqdm(total=len(submissions), initial=len(outcomes), file=sys.stderr, unit="submission", disable=None if progress else True)

    def finished(key: str, value: Any) -> None:
        if isinstance(value, Failure):
            submission = by_id[key]
            status = OVER_TIME if value.overran else GRADER_ERROR
            outcome = Outcome(key, submission.submitters, error=value.reason, seconds=value.seconds, upload=uploads[key], status=status)
            state.save(outcome, {"score": 0, "tests": [], "output": outcome.error})
        else:
            outcome = Outcome.from_json(value)
        outcomes[key] = outcome
        bar.update(1)
        if progress:
            bar.write(_line(outcome, assignment), file=sys.stderr)

    if tasks:
        if resumed and progress:
            bar.write(f"resuming: {resumed} of {len(submissions)} submissions already have results in {state.folder}", file=sys.stderr)
        init = {"config": str(config.path), "assignment": assignment, "isolation": isolation.mode, "state": str(state.folder)}
        pool = Pool("autograder.staff.regrade:grader", init, max(1, jobs), cap)
        try:
            pool.run(tasks, finished)
        except KeyboardInterrupt:
            bar.close()
            raise Interrupted(len(outcomes), len(submissions), state.folder) from None
    bar.close()
    ordered = [outcomes[s.id] for s in sorted(submissions, key=lambda s: s.id)]
    write_csv(ordered, assignment, Path(csv_path))
    return Batch(ordered, len(tasks), resumed, state)


def _number(value: Optional[float]) -> str:
    return "" if value is None else f"{round(value, 4):g}"


def write_csv(outcomes: List[Outcome], assignment: Assignment, path: Path) -> None:
    """One row per submission, sorted by id: who, total, one column per problem, status (see
    ``state.STATUSES``), error."""
    problems = [p.id for p in assignment.problems]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "email", "sid", "total"] + problems + ["status", "error"])
    for o in sorted(outcomes, key=lambda o: o.id):
        who = ["; ".join(getattr(p, key) for p in o.submitters) for key in ("name", "email", "sid")]
        scores = [_number(o.scores.get(pid)) if not o.error else "" for pid in problems]
        # Text cells (ids are file names, names come from the metadata) go through csv_cell: no
        # cell may start like a spreadsheet formula. Scores are this grader's own numbers.
        writer.writerow([csv_cell(o.id)] + [csv_cell(w) for w in who] + [_number(o.total)] + scores + [csv_cell(o.status), csv_cell(o.error)])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(path)

