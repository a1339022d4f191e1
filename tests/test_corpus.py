"""Proof that the hidden tests catch known bugs: every corpus variant gets the verdict it must.

A bug loses points on its own problem and on no other; a correct-but-different variant keeps
full marks. The whole corpus is graded once (two processes), then checked variant by variant.
"""
import os

import pytest

from autograder import config as config_mod
from autograder.grade import corpus
from autograder.sandbox.runner import choose_isolation
from conftest import ROOT

CONFIG = config_mod.load(ROOT / "grading.toml")
CASES = [(a.id, v) for a in CONFIG.assignments for v in corpus.variants(ROOT / "tests" / "corpus", a)]


@pytest.fixture(scope="module")
def verdicts():
    found = {}
    for assignment in CONFIG.assignments:
        variants = [v for a, v in CASES if a == assignment.id]
        jobs = min(2, os.cpu_count() or 1)
        for verdict in corpus.run_parallel(CONFIG, assignment, variants, choose_isolation(), jobs):
            found[(assignment.id, verdict.variant.label)] = verdict
    return found


def test_every_problem_has_a_bug_in_the_corpus():
    for assignment in CONFIG.assignments:
        bugs = {v.problem for a, v in CASES if a == assignment.id and v.kind == "bugs"}
        assert bugs == {p.id for p in assignment.problems}, f"{assignment.id}: problems without a bug in the corpus"


@pytest.mark.parametrize("assignment, variant", CASES, ids=[f"{a}:{v.label}" for a, v in CASES])
def test_variant_gets_its_verdict(verdicts, assignment, variant):
    verdict = verdicts[(assignment, variant.label)]
    assert verdict.ok, f"{variant.path.name}: {verdict.reason}; scores {verdict.scores}"
