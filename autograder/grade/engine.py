"""Grade one upload: problems → sandboxed sessions → check results. Never imports submission code.

Data flows one way: the config names the problems, the hidden-test modules give each problem's
checks, each problem runs in its own sandbox session, and the outcome is a ``Grade`` (plain
data) that ``results.py`` turns into Gradescope's ``results.json``.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib.util
import logging
import sys
import time
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional, Sequence, Tuple

import hypothesis.reporting
import torch

from autograder.assign.export import ExportError, merge, unfinished
from autograder.checking.compare import CheckFailed
from autograder.checking.registry import Check, Context
from autograder.checking.student import MissingSymbol, Student, SubmissionError
from autograder.config import Assignment, Config, ConfigError, Problem
from autograder.sandbox import Isolation, Sandbox, SessionEnded, choose_isolation
from autograder.uploads import SYNTAX_ERROR, Upload, resolve

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    problem: str
    name: str
    score: float
    max_score: float
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class ProblemResult:
    problem: Problem
    checks: Tuple[CheckResult, ...]
    note: str = ""  # said once for the whole problem (import error, timeout, missing name)
    entry_points: Tuple[str, ...] = ()  # names of the upload that the checks called

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)


# What happened to a submission, in one word for staff (the regrade's `status` column): a grade's
# own statuses, then the upload's kinds that cannot run (``upload.BLOCKED_KINDS``), then the
# regrade's own (``staff/state.py``).
GRADED = "graded"
NOT_ATTEMPTED = "not attempted"  # every problem still raises NotImplementedError, as the stubs do


@dataclass
class Grade:
    assignment: Assignment
    problems: List[ProblemResult]
    notes: List[str] = field(default_factory=list)  # for the student
    staff: List[str] = field(default_factory=list)  # for course staff only
    seconds: float = 0.0
    status: str = GRADED  # GRADED, NOT_ATTEMPTED, or the upload's kind when nothing could run
    unfinished: List[str] = field(default_factory=list)  # problem ids whose names still raise NotImplementedError

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.problems), 6)

    def by_problem(self) -> Dict[str, float]:
        return {p.problem.id: p.score for p in self.problems}


# ---------------------------------------------------------------------------------------------
# The trusted inputs: reference module and hidden checks


def reference_source(config: Config, assignment: Assignment) -> str:
    files = [(name, (config.root / "solutions" / name).read_text(encoding="utf-8")) for name in assignment.sources]
    try:
        return merge(files, f"{assignment.upload}: the reference solution of {assignment.id} (staff only).")
    except ExportError as exc:  # a plain Exception: export.py is also the students' standalone script
        raise ConfigError(f"{config.path}: [assignments.{assignment.id}].sources: solutions/{exc}") from exc


@lru_cache(maxsize=None)
def _load_module(name: str, source: str, filename: str) -> ModuleType:
    module = ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def imported_modules(source: str) -> Tuple[str, ...]:
    """Top-level modules that ``source`` imports, in order (for the fork server to preload)."""
    names: List[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module != "__future__":
            names.append(node.module)
    return tuple(dict.fromkeys(names))


def reference_module(config: Config, assignment: Assignment) -> ModuleType:
    name = f"reference_{assignment.id.replace('-', '_')}"
    return _load_module(name, reference_source(config, assignment), f"<reference {assignment.id}>")


def hidden_files(config: Config, assignment: Assignment) -> List[Path]:
    """The assignment's hidden-test modules (``hidden`` globs under ``assignments/``), sorted, each once."""
    base = config.root / "assignments"
    found = {path for pattern in assignment.hidden for path in base.glob(pattern) if path.suffix == ".py"}
    return sorted(found)


def load_checks(config: Config, assignment: Assignment) -> Dict[str, List[Check]]:
    """Every check of the assignment by problem id; ids must match ``grading.toml`` both ways."""
    folder = config.root / "assignments"
    by_problem: Dict[str, List[Check]] = {p.id: [] for p in assignment.problems}
    listed = {p.id for p in config.assignment(assignment.id).problems}  # `assignment` may be a subset
    unknown: List[str] = []
    for path in hidden_files(config, assignment):
        name = "hidden_" + "_".join(path.relative_to(folder).with_suffix("").parts).replace("-", "_")
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"{path}: cannot be loaded as a module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        checks = getattr(module, "checks", None)
        if checks is None:
            continue
        for check in checks.items:
            if check.problem in by_problem:
                by_problem[check.problem].append(check)
            elif check.problem not in listed:
                unknown.append(f"{path.name}: {check.problem!r}")
    if unknown:
        raise ConfigError(f"{config.path}: hidden tests name problems that [assignments.{assignment.id}] does not list: {', '.join(unknown)}")
    untested = [pid for pid, found in by_problem.items() if not found]
    if untested:
        raise ConfigError(
            f"{folder}: no hidden checks (in {', '.join(assignment.hidden)}) for problem(s) {', '.join(untested)} listed in {config.path.name}"
        )
    return by_problem


# ---------------------------------------------------------------------------------------------
# Running


SCORE_DECIMALS = 4  # results.json shows scores to this many decimals


def check_points(points: float, weights: Sequence[float]) -> List[float]:
    """``points`` split over checks in proportion to ``weights``, each rounded to
    SCORE_DECIMALS, summing exactly to ``points`` (largest remainder: the units left over by
    rounding down go to the checks that lost most, the earlier one first on a tie)."""
    unit = 10**SCORE_DECIMALS
    total_units = round(points * unit)
    total = sum(weights)
    exact = [total_units * w / total for w in weights]
    units = [int(e) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - units[i]), i))
    for i in order[: total_units - sum(units)]:
        units[i] += 1
    return [u / unit for u in units]


def _all_fail(problem: Problem, checks: List[Check], note: str, maxima: Optional[Sequence[float]] = None) -> ProblemResult:
    maxima = maxima if maxima is not None else check_points(problem.points, [c.weight for c in checks])
    results = tuple(CheckResult(problem.id, c.name, 0.0, m, False, "") for c, m in zip(checks, maxima))
    return ProblemResult(problem, results, note)


def _explain(exc: BaseException, student: Student) -> str:
    """A failure message for the student: what was called, expected and returned, and a reproducer."""
    if isinstance(exc, CheckFailed):
        message = str(exc)
    elif isinstance(exc, SubmissionError):
        message = f"calling {exc.call} raised {exc.kind}: {exc.message}"
        if exc.trace:
            message += "\n" + "\n".join("  " + line for line in exc.trace.strip().splitlines()[-8:])
    elif isinstance(exc, MissingSymbol):
        return str(exc)
    else:
        LOG.warning("check raised %s: %s", type(exc).__name__, "".join(traceback.format_exception(exc))[-2000:])
        message = f"the grader could not use what your code returned ({type(exc).__name__}: {str(exc)[:300]})"
    repro = student.reproducer()
    if repro:
        message += "\nReproduce (smallest failing example found):\n" + "\n".join("  " + line for line in repro.splitlines())
    return message


def _run_check(check: Check, ctx: Context, max_score: float, problem: Problem) -> CheckResult:
    try:
        with hypothesis.reporting.with_reporter(lambda _text: None):
            check.func(ctx)
    except SessionEnded:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a check is that check's verdict
        if ctx.student.session.ended is not None:
            raise ctx.student.session.ended from exc
        return CheckResult(problem.id, check.name, 0.0, max_score, False, _explain(exc, ctx.student))
    return CheckResult(problem.id, check.name, max_score, max_score, True)


def _grade_problem(sandbox: Sandbox, name: str, problem: Problem, checks: List[Check], ref: ModuleType) -> ProblemResult:
    try:
        return _grade_in_session(sandbox, name, problem, checks, ref)
    except SessionEnded as ended:  # it ended while importing the file, before any check ran
        note = ended.reason + (f"\nLast output of your code:\n{ended.output.strip()[-1000:]}" if ended.output.strip() else "")
        return _all_fail(problem, checks, f"importing your file failed: {note}")


def _grade_in_session(sandbox: Sandbox, name: str, problem: Problem, checks: List[Check], ref: ModuleType) -> ProblemResult:
    with sandbox.session(problem.limits, name) as session:
        if session.import_error is not None:
            err = session.import_error
            detail = f"\n{err['traceback']}" if err.get("traceback") else ""
            return _all_fail(problem, checks, f"importing your file raised {err['type']}: {err['message']}{detail}")
        missing = [s for s in problem.symbols if s not in (session.imported or [])]
        if missing:
            return _all_fail(problem, checks, f"your file defines no {', '.join(missing)}: check the spelling and that it is at the top level.")
        student = Student(session)
        ctx = Context(student, ref, problem.max_examples)
        maxima = check_points(problem.points, [c.weight for c in checks])
        results: List[CheckResult] = []
        for index, check in enumerate(checks):
            try:
                results.append(_run_check(check, ctx, maxima[index], problem))
            except SessionEnded as ended:
                note = ended.reason
                if ended.output.strip():
                    note += "\nLast output of your code:\n" + ended.output.strip()[-1000:]
                if student.reproducer():
                    note += "\nIt happened while running:\n" + "\n".join("  " + line for line in student.reproducer().splitlines())
                failed = _all_fail(problem, checks[index:], note, maxima[index:]).checks
                return ProblemResult(problem, tuple(results) + failed, note, tuple(sorted(student.entry_points)))
        return ProblemResult(problem, tuple(results), entry_points=tuple(sorted(student.entry_points)))


# ---------------------------------------------------------------------------------------------
# The time budget of a whole submission (``submission_time_limit``): a submission that is slow at
# every import would otherwise take each problem's full time limit, one after the other, past
# Gradescope's own timeout, which scores 0 and says nothing.

MIN_SESSION_SECONDS = 1.0  # less than this left: not worth starting a session


def out_of_time(budget: float) -> str:
    return (
        f"not graded: the time budget for the whole submission ran out ({budget:g} s for all problems together). "
        "Usually your file does slow work when it is imported (training, downloads, sleeps), and that is repeated "
        "for every problem: put such code under `if __name__ == \"__main__\":`."
    )


def _grade_in_budget(sandbox: Sandbox, name: str, problem: Problem, checks: List[Check], ref: ModuleType, ends: float, budget: float) -> ProblemResult:
    """Grade ``problem`` in what is left of the submission's budget (which ``ends`` at that
    monotonic time): not at all when almost nothing is left, else with its time limit cut to
    what is left, so that results.json is written in time whatever the submission does."""
    left = ends - time.monotonic()
    if left < MIN_SESSION_SECONDS:
        return _all_fail(problem, checks, out_of_time(budget))
    if left >= problem.limits.time_seconds:
        return _grade_problem(sandbox, name, problem, checks, ref)
    cut = dataclasses.replace(problem, limits=dataclasses.replace(problem.limits, time_seconds=left))
    result = dataclasses.replace(_grade_problem(sandbox, name, cut, checks, ref), problem=problem)
    if result.note and time.monotonic() >= ends:  # stopped by the cut deadline: say why it was cut
        why = (
            f"not graded to the end: the time budget for the whole submission ({budget:g} s for all problems together) "
            f"ran out while this problem was graded, so its time limit was cut to the {left:.1f} s that were left."
        )
        result = dataclasses.replace(result, note=why + "\n" + result.note)
    return result


def _blocked(assignment: Assignment, checks: Dict[str, List[Check]], upload: Upload) -> Optional[Grade]:
    """A Grade of zero with the reason, when there is nothing that can run."""
    blocker = upload.problem or upload.syntax_error
    if blocker is None:
        return None
    grade = Grade(assignment, [_all_fail(p, checks[p.id], blocker) for p in assignment.problems], notes=upload.notes + [blocker])
    grade.status = upload.kind or SYNTAX_ERROR
    return grade


def mark_attempts(assignment: Assignment, source: str, grade: Grade) -> None:
    """Set ``unfinished`` (problems whose names still raise ``NotImplementedError``, as the stubs
    do: read from the source, not from messages) and ``status``: NOT_ATTEMPTED when nothing scored
    and every problem is unfinished, else GRADED."""
    grade.unfinished = unfinished(source, [(p.id, p.symbols) for p in assignment.problems])
    everything = len(grade.unfinished) == len(assignment.problems)
    grade.status = NOT_ATTEMPTED if grade.score == 0 and everything else GRADED


def grade_uploads(
    config: Config,
    assignment: Assignment,
    uploads: Dict[str, Upload],
    isolation: Optional[Isolation] = None,
    only: Optional[Dict[str, Sequence[str]]] = None,
) -> Dict[str, Grade]:
    """Grade several uploads of one trusted author in one sandbox (see ``Sandbox``); by label.

    ``only`` may narrow an upload to some problem ids (the corpus does, see ``grade/corpus.py``).
    """
    # The grader's own tensors are tiny: more threads would only spin and steal the core the
    # submission's process needs (the container has half a CPU).
    torch.set_num_threads(1)
    source = reference_source(config, assignment)
    runnable = {label: f"upload{i}.py" if len(uploads) > 1 else assignment.upload for i, label in enumerate(uploads)}
    runnable = {label: name for label, name in runnable.items() if uploads[label].problem is None and uploads[label].syntax_error is None}
    grades: Dict[str, Grade] = {}
    if not runnable:  # nothing can run: say why, without starting a sandbox
        checks = load_checks(config, assignment)
        return {label: _blocked(assignment, checks, upload) or Grade(assignment, []) for label, upload in uploads.items()}
    opened = time.monotonic()  # the first upload's budget counts the sandbox's start-up too
    isolation = isolation or choose_isolation()
    files = {name: uploads[label].source or "" for label, name in runnable.items()}
    # The sandbox starts first: its process imports torch while this one loads the checks.
    with Sandbox(files, isolation, imported_modules(source)) as sandbox:
        checks = load_checks(config, assignment)
        ref = reference_module(config, assignment)
        for label, upload in uploads.items():
            blocked = _blocked(assignment, checks, upload)
            if blocked is not None:
                grades[label] = blocked
                continue
            started = time.monotonic()
            ends = (opened if label == next(iter(runnable)) else started) + assignment.time_budget
            grade = Grade(assignment, [], notes=list(upload.notes), staff=[f"isolation: {sandbox.describe()}"])
            wanted = set(only[label]) if only and label in only else {p.id for p in assignment.problems}
            for problem in (p for p in assignment.problems if p.id in wanted):
                t0 = time.monotonic()
                grade.problems.append(_grade_in_budget(sandbox, runnable[label], problem, checks[problem.id], ref, ends, assignment.time_budget))
                grade.staff.append(f"{problem.id}: {grade.problems[-1].score:g}/{problem.points:g} in {time.monotonic() - t0:.2f} s")
            if any("the time budget for the whole submission" in p.note for p in grade.problems):
                grade.notes.append(f"the time budget for the whole submission ({assignment.time_budget:g} s) ran out: what was not reached in time was not graded.")
                grade.staff.append(f"time budget of {assignment.time_budget:g} s ran out")
            cut = sandbox.output_cut_mb(runnable[label])
            if cut is not None:  # printing is not a mistake: said once, costs nothing
                note = f"Your code printed more than {cut} MB while it was graded: the rest of its output was discarded (this costs no points)."
                grade.notes.append(note)
                grade.staff.append(note)
            grade.seconds = time.monotonic() - started
            mark_attempts(assignment, upload.source or "", grade)
            grades[label] = grade
    return grades


def grade_source(config: Config, assignment: Assignment, upload: Upload, isolation: Optional[Isolation] = None) -> Grade:
    started = time.monotonic()
    grade = grade_uploads(config, assignment, {"upload": upload}, isolation)["upload"]
    grade.seconds = time.monotonic() - started  # start-up of the sandbox included
    return grade


def grade_path(config: Config, assignment: Assignment, path: Path, isolation: Optional[Isolation] = None, staff_named: bool = False) -> Grade:
    """Grade the upload at ``path``; ``UploadError`` if there is none (see ``uploads.resolve``).
    ``staff_named``: ``path`` is a file that course staff named, so its name gets no note."""
    return grade_source(config, assignment, resolve(path, assignment.upload, assignment.sources, staff_named), isolation)
