"""What grading found, as plain data: check results, problem results and a submission's ``Grade``.

``engine`` makes them, ``results`` turns a ``Grade`` into Gradescope's ``results.json``, the staff
tools read them. Nothing here imports torch or the checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from autograder.config import Assignment, Problem

if TYPE_CHECKING:
    from autograder.checking.registry import Check


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


def all_fail(problem: Problem, checks: List[Check], note: str, maxima: Optional[Sequence[float]] = None) -> ProblemResult:
    maxima = maxima if maxima is not None else check_points(problem.points, [c.weight for c in checks])
    results = tuple(CheckResult(problem.id, c.name, 0.0, m, False, "") for c, m in zip(checks, maxima))
    return ProblemResult(problem, results, note)
