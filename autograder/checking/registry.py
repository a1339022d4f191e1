"""Checks: named, weighted properties of one problem, and the hypothesis profile they run under.

A hidden-test module builds one ``Checks`` list and decorates functions with it::

    checks = Checks()

    @checks.add("attention_head", "alpha rows sum to 1 and masked weights are 0")
    def _(ctx: Context) -> None:
        ...

A problem's points are split over its checks by weight; a check scores all or nothing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Dict, List, Sequence

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from autograder.checking.student import Student

# Grading is deterministic: derandomised, no example database, no deadline. The "dev" profile
# (AUTOGRADER_HYPOTHESIS_PROFILE=dev) explores with fresh randomness, for staff writing tests.
PROFILES: Dict[str, Dict[str, Any]] = {
    "grading": dict(
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    ),
    "dev": dict(
        derandomize=False,
        database=None,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    ),
}


def profile_settings(max_examples: int) -> settings:
    name = os.environ.get("AUTOGRADER_HYPOTHESIS_PROFILE", "grading")
    if name not in PROFILES:
        raise ValueError(f"AUTOGRADER_HYPOTHESIS_PROFILE={name!r}, but should be one of {', '.join(PROFILES)}")
    return settings(max_examples=max_examples, **PROFILES[name])


@dataclass
class Context:
    """What a check sees: the submission, the reference module and the problem's example budget."""

    student: Student
    ref: ModuleType
    max_examples: int

    def forall(self, strategy: st.SearchStrategy, body: Callable[[Any], None], max_examples: int = 0, examples: Sequence[Any] = ()) -> None:
        """Run ``body`` on the chosen ``examples`` first (see ``each``), then on ``max_examples``
        drawn from ``strategy``; the first failure is re-raised (a drawn one shrunk)."""
        self.each(examples, body)
        student = self.student

        @profile_settings(max_examples or self.max_examples)
        @given(strategy)
        def prop(example: Any) -> None:
            student.begin_example()
            body(example)

        prop()

    def each(self, examples: Sequence[Any], body: Callable[[Any], None]) -> None:
        """Run ``body`` on chosen examples, in order, each with a fresh reproducer (as hypothesis
        runs ``@example``s): the cases where a property's usual mistakes all show."""
        for example in examples:
            self.student.begin_example()
            body(example)


CheckFn = Callable[[Context], None]


@dataclass(frozen=True)
class Check:
    problem: str
    name: str
    weight: float
    func: CheckFn


@dataclass
class Checks:
    """The checks one hidden-test module defines, in definition order."""

    items: List[Check] = field(default_factory=list)

    def add(self, problem: str, name: str, weight: float = 1.0) -> Callable[[CheckFn], CheckFn]:
        def register(func: CheckFn) -> CheckFn:
            self.items.append(Check(problem, name, weight, func))
            return func

        return register


__all__ = ["Check", "Checks", "Context", "hypothesis", "profile_settings"]
