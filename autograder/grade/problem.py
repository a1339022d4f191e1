"""Grade one problem in its own sandbox session: run its checks, explain each failure.

This is the part of grading that imports torch, hypothesis and the checking toolkit; ``engine``
imports it only after the sandbox's process has started (see ``engine.grade_uploads``).
"""
from __future__ import annotations

import logging
import traceback
from types import ModuleType
from typing import List

import hypothesis.reporting
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder.checking.compare import CheckFailed
from autograder.checking.registry import Check, Context, profile_settings
from autograder.checking.student import MissingSymbol, Student, SubmissionError
from autograder.config import Problem
from autograder.grade.outcome import CheckResult, ProblemResult, all_fail, check_points
from autograder.sandbox import Sandbox, SessionEnded

LOG = logging.getLogger(__name__)


def grader_threads() -> None:
    """The grader's own tensors are tiny: more threads would only spin and steal the core the
    submission's process needs (the container has half a CPU)."""
    torch.set_num_threads(1)


def warm_up() -> None:
    """Run one empty property: hypothesis's one-time set-up (registering its own random
    generator runs a full garbage collection of this process) then happens while the sandbox
    starts, rather than in the first check."""

    @profile_settings(1)
    @given(st.none())
    def nothing(_: None) -> None:
        pass

    with hypothesis.reporting.with_reporter(lambda _text: None):
        nothing()


def grade_problem(sandbox: Sandbox, name: str, problem: Problem, checks: List[Check], ref: ModuleType) -> ProblemResult:
    try:
        return _in_session(sandbox, name, problem, checks, ref)
    except SessionEnded as ended:  # it ended while importing the file, before any check ran
        note = ended.reason + (f"\nLast output of your code:\n{ended.output.strip()[-1000:]}" if ended.output.strip() else "")
        return all_fail(problem, checks, f"importing your file failed: {note}")


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


def _in_session(sandbox: Sandbox, name: str, problem: Problem, checks: List[Check], ref: ModuleType) -> ProblemResult:
    with sandbox.session(problem.limits, name) as session:
        if session.import_error is not None:
            err = session.import_error
            detail = f"\n{err['traceback']}" if err.get("traceback") else ""
            return all_fail(problem, checks, f"importing your file raised {err['type']}: {err['message']}{detail}")
        missing = [s for s in problem.symbols if s not in (session.imported or [])]
        if missing:
            return all_fail(problem, checks, f"your file defines no {', '.join(missing)}: check the spelling and that it is at the top level.")
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
                failed = all_fail(problem, checks[index:], note, maxima[index:]).checks
                return ProblemResult(problem, tuple(results) + failed, note, tuple(sorted(student.entry_points)))
        return ProblemResult(problem, tuple(results), entry_points=tuple(sorted(student.entry_points)))
