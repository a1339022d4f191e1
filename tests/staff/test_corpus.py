"""Proof that the hidden tests catch known bugs: every corpus variant gets the verdict it must.

A bug loses points on its own problem and on no other; a correct-but-different variant keeps
full marks. The whole corpus is graded once (two processes), then checked variant by variant.
"""
import os
from types import SimpleNamespace

import pytest

from autograder import config as config_mod
from autograder.sandbox import choose_isolation
from autograder.staff import corpus
from helpers import ROOT

CONFIG = config_mod.load(ROOT / "grading.toml")
CASES = [(a.id, v) for a in CONFIG.assignments for v in corpus.variants(corpus.folder(CONFIG, a), a)]


@pytest.fixture(scope="module")
def verdicts():
    found = {}
    for assignment in CONFIG.assignments:
        variants = [v for a, v in CASES if a == assignment.id]
        jobs = min(2, os.cpu_count() or 1)
        for verdict in corpus.run(CONFIG, assignment, variants, choose_isolation(), jobs):
            found[(assignment.id, verdict.variant.label)] = verdict
    return found


@pytest.mark.unit
def test_every_problem_has_a_bug_in_the_corpus():
    for assignment in CONFIG.assignments:
        bugs = {v.problem for a, v in CASES if a == assignment.id and v.kind == "bugs"}
        assert bugs == {p.id for p in assignment.problems}, f"{assignment.id}: problems without a bug in the corpus"


@pytest.mark.e2e
@pytest.mark.parametrize("assignment, variant", CASES, ids=[f"{a}:{v.label}" for a, v in CASES])
def test_variant_gets_its_verdict(verdicts, assignment, variant):
    verdict = verdicts[(assignment, variant.label)]
    assert verdict.ok, f"{variant.path.name}: {verdict.reason}; scores {verdict.scores}"


@pytest.mark.unit
def test_a_bug_that_needs_a_second_bug_names_it_and_is_judged_on_both(tmp_path):
    hw3 = next(a for a in CONFIG.assignments if a.id == "hw3")
    bugs = tmp_path / "bugs"
    bugs.mkdir(parents=True)
    (bugs / "dialogue_gpt__x.py").write_text('"""Two bugs.\n\ncorpus: also wrong: transformer\n"""\n')
    (found,) = corpus.variants(tmp_path, hw3)
    assert found.also == ("transformer",)
    full = {"dialogue_gpt": 2.0, "transformer": 3.0, "tokenizer": 2.0}
    grade = FakeGrade({"dialogue_gpt": 1.0, "transformer": 1.0, "tokenizer": 2.0}, full)
    assert corpus.judge(found, grade).ok
    assert "not caught on transformer" in corpus.judge(found, FakeGrade({**grade.scores, "transformer": 3.0}, full)).reason
    assert "also charged to tokenizer" in corpus.judge(found, FakeGrade({**grade.scores, "tokenizer": 1.0}, full)).reason
    (bugs / "dialogue_gpt__x.py").write_text("# corpus: also wrong: transformr\n")
    with pytest.raises(corpus.CorpusError, match="names transformr, but should name other problems"):
        corpus.variants(tmp_path, hw3)


class FakeGrade:
    """What ``corpus.judge`` reads of a grade: scores per problem and each problem's points."""

    def __init__(self, scores, full):
        self.scores = scores
        self.problems = [SimpleNamespace(problem=SimpleNamespace(id=pid, points=points)) for pid, points in full.items()]

    def by_problem(self):
        return dict(self.scores)
