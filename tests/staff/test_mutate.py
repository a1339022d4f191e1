"""``mutate``: operators, attribution to problems, the equivalents file, and a run end to end.

The end-to-end run uses a toy project in tmp_path: two problems with the same one-line solution,
one judged by a weak check (the output's shape only) and one by a strong one (the values). The
weak problem's mutants must survive, the strong problem's must be killed.
"""
from __future__ import annotations

import ast
import json

import pytest

from autograder import cli
from autograder import config as config_mod
from autograder.config import Assignment, Limits, Problem
from autograder.grade.engine import reference_source
from autograder.sandbox import choose_isolation
from autograder.staff.mutate import equivalents, record, report
from autograder.staff.mutate.mutants import Mutant, file_mutants, generate, reach, thin
from autograder.staff.mutate.operators import Source, edits
from autograder.staff.mutate.run import mutate

REGION = '''\
import math
import torch
import torch.nn as nn


def attend(q, k, mask, d):
    ### BEGIN SOLUTION
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    scores = scores.masked_fill(mask == 0, float("-inf"))
    for i in range(len(scores) - 1):
        if scores[i].sum() < 0:
            scores[i] = scores[i] + 1e-9
    alpha = torch.softmax(scores[:, 1:], dim=-1)
    layer = nn.Linear(d, d, bias=True)
    return alpha * 2 - layer.bias
    ### END SOLUTION
'''


def _region_edits(text: str):
    tree = ast.parse(text)
    function = tree.body[-1]
    return list(edits(text, function.body))


def _mutated(text: str):
    source = Source(text)
    return [(e, source.apply(e)) for e in _region_edits(text)]


@pytest.mark.unit
def test_operators_cover_the_fields_mistakes_and_every_mutant_parses():
    found = _mutated(REGION)
    by_operator = {}
    for edit, text in found:
        ast.parse(text)  # raises if a mutant is not valid Python
        assert text != REGION
        by_operator.setdefault(edit.operator, []).append(text)
    changed = {op: ["\n".join(set(t.splitlines()) - set(REGION.splitlines())) for t in texts] for op, texts in by_operator.items()}
    assert any("dim=-2" in line for line in changed["axis"]) and any("dim=0" in line for line in changed["axis"])
    assert any("k.transpose(-3, -1)" in line for line in changed["axis"])
    assert any("q @ k / math.sqrt(d)" in line for line in changed["transpose"])
    assert any(line.strip() == "scores = q @ k.transpose(-2, -1)" for line in changed["scale"])  # scaling dropped
    assert any("/ math.sqrt(d) / math.sqrt(d)" in line for line in changed["scale"])  # doubled
    assert any("torch.log_softmax(" in line for line in changed["swap_call"])
    assert any(".mean() < 0" in line for line in changed["swap_call"])
    assert any(line.strip() == "scores = scores" for line in changed["mask"])
    assert any("<= 0" in line for line in changed["compare"]) and any("mask != 0" in line for line in changed["compare"])
    assert any("scores[:, 2:]" in line for line in changed["off_by_one"]) and any("range((len(scores) - 1) + 1)" in line for line in changed["off_by_one"])
    assert any("bias=False" in line for line in changed["const"]) and any("scores[i] + 0.0" in line for line in changed["const"])  # eps removed
    assert any(line.strip() == "scores[i] = scores[i]" for line in changed["drop_term"])  # the eps term dropped
    assert any("alpha * 2 + layer.bias" in line for line in changed["arith"]) and any("alpha / 2" in line for line in changed["arith"])
    assert any(line.strip() == "pass" for line in changed["delete"])


@pytest.mark.unit
def test_operators_touch_only_the_region_and_are_deterministic():
    first = [(e, t) for e, t in _mutated(REGION)]
    second = [(e, t) for e, t in _mutated(REGION)]
    assert first == second
    outside = REGION.splitlines()[:7]  # imports and the def line, up to the BEGIN marker
    for _, text in first:
        assert text.splitlines()[:7] == outside
        assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text


def _assignment(*problems: tuple) -> Assignment:
    made = tuple(Problem(pid, pid, 1.0, tuple(symbols), "visible", Limits(), 5) for pid, symbols in problems)
    return Assignment("toy", "toy", "toy.py", ("toy.py",), made)


ATTRIBUTION = '''\
class Block:
    def forward(self, x):
        ### BEGIN SOLUTION
        return x + 1
        ### END SOLUTION


class Model:
    def forward(self, x):
        ### BEGIN SOLUTION
        return Block().forward(x) * 2
        ### END SOLUTION


def unused(x):
    ### BEGIN SOLUTION
    return x - 1
    ### END SOLUTION
'''


@pytest.mark.unit
def test_regions_belong_to_the_problem_whose_symbols_hold_them_or_use_them():
    assignment = _assignment(("model", ["Model"]), ("other", ["Other"]))
    found, skipped = file_mutants("toy.py", ATTRIBUTION, assignment, reach(ATTRIBUTION, assignment))
    owners = {(function, problem) for _, problem, function, _, _ in found}
    # Model's own region is "model"'s; Block, a building block only Model uses, is judged there too.
    assert owners == {("Model.forward", "model"), ("Block.forward", "model")}
    assert [(s.function, s.line) for s in skipped] == [("unused", 16)]
    # Symbols that hold the region directly win over use: Block as a problem of its own.
    direct = _assignment(("model", ["Model"]), ("block", ["Block"]))
    found, _ = file_mutants("toy.py", ATTRIBUTION, direct, reach(ATTRIBUTION, direct))
    assert {(f, p) for _, p, f, _, _ in found} == {("Model.forward", "model"), ("Block.forward", "block")}


@pytest.mark.unit
def test_mutant_ids_do_not_move_with_unrelated_edits():
    assignment = _assignment(("model", ["Model", "Block"]))
    ids = sorted(ident for *_, ident, _ in file_mutants("toy.py", ATTRIBUTION, assignment)[0])
    shifted = "# a comment added above\n\n" + ATTRIBUTION
    assert sorted(ident for *_, ident, _ in file_mutants("toy.py", shifted, assignment)[0]) == ids
    assert len(set(ids)) == len(ids)


@pytest.mark.unit
def test_repository_mutants_are_valid_uploads_sorted_and_repeatable(repo_config):
    assignment = repo_config.assignment("decoding-lab")
    first, skipped = generate(repo_config, assignment)
    second, _ = generate(repo_config, assignment)
    assert [m.id for m in first] == [m.id for m in second] and first and not skipped
    reference = reference_source(repo_config, assignment).splitlines()
    for mutant in first:
        ast.parse(mutant.upload)
        assert mutant.id.startswith(f"{mutant.problem}.{mutant.operator}.")
        assert mutant.upload.splitlines()[1:] != reference[1:]  # the header line differs, and one region
    capped, _ = generate(repo_config, assignment, ["beam_search"], max_per_problem=10)
    assert len(capped) == 10 and {m.problem for m in capped} == {"beam_search"}
    assert len({m.operator for m in capped}) >= 5  # round-robin over operators, not the first lines


@pytest.mark.unit
@pytest.mark.parametrize("assignment_id", ["hw3", "pico-llm", "decoding-lab"])
def test_every_problem_has_a_fresh_mutation_record_whose_mutants_its_tests_kill(repo_config, assignment_id):
    """The committed assignments/<a>/mutation.json covers every problem, matches today's solutions
    and hidden tests, and shows each problem killing at least one mutant and all it should."""
    assignment = repo_config.assignment(assignment_id)
    column = record.proof_column(repo_config, assignment)
    for problem in assignment.problems:
        shown = column.get(problem.id, "not run")
        assert shown.startswith("100% (") and not shown.startswith("100% (0/"), (
            f"{assignment_id}/{problem.id}: mutation score {shown!r}; run autograder mutate --assignment {assignment_id} and commit its record"
        )


def generate_from_text(assignment):
    """The toy file's mutants as ``Mutant``s (uploads are the mutated file alone)."""
    found, skipped = file_mutants("toy.py", ATTRIBUTION, assignment)
    return [Mutant(ident, p, "toy.py", f, e.operator, e.what, e.line, text, "") for e, p, f, ident, text in found], skipped


@pytest.mark.unit
def test_thin_keeps_input_order_and_the_cap():
    assignment = _assignment(("model", ["Model", "Block"]))
    everything, _ = generate_from_text(assignment)
    kept = thin(everything, 4)
    assert len(kept) == 4 and [m for m in everything if m in kept] == kept
    assert thin(everything, None) == everything


# ---------------------------------------------------------------------------------------------
# The equivalents file


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[[equivalent]]\nid = "weak.axis.0123abcd"\nreason = "the tensor is 1-D, so dim 0 is dim -1"\nwhy = 1\n', "unknown key why"),
        ('[[equivalent]]\nid = "weak-axis"\nreason = "the tensor is 1-D, so dim 0 is dim -1"\n', "id='weak-axis', but should be a mutant id"),
        ('[[equivalent]]\nid = "nope.axis.0123abcd"\nreason = "the tensor is 1-D, so dim 0 is dim -1"\n', "names problem 'nope'"),
        ('[[equivalent]]\nid = "weak.axis.0123abcd"\nreason = "same"\n', "reason='same', but should say"),
        ('[[equivalent]]\nid = "weak.axis.0123abcd"\nreason = "the tensor is 1-D, so dim 0 is dim -1"\n' * 2, "listed twice"),
        ("[[equivalent]\n", "not valid TOML"),
        ('[equivalents]\nid = "x"\n', "unknown table or key equivalents"),
    ],
)
@pytest.mark.unit
def test_equivalents_file_is_validated_with_the_file_named(tmp_path, text, fragment):
    path = tmp_path / "mutants.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(equivalents.EquivalentsError) as caught:
        equivalents.load(path, ("weak", "strong"))
    assert str(path) in str(caught.value) and fragment in str(caught.value)


@pytest.mark.unit
def test_equivalents_file_loads_and_may_be_absent(tmp_path):
    assert equivalents.load(tmp_path / "mutants.toml") == {}
    path = tmp_path / "mutants.toml"
    path.write_text('[[equivalent]]\nid = "weak.axis.0123abcd"\nreason = "the tensor is 1-D, so dim 0 is dim -1"\n', encoding="utf-8")
    assert equivalents.load(path, ("weak",))["weak.axis.0123abcd"].reason == "the tensor is 1-D, so dim 0 is dim -1"


# ---------------------------------------------------------------------------------------------
# End to end: a weak check lets mutants survive, a strong one kills them

TOY_TOML = """\
[defaults]
time_limit = 30
max_examples = 5

[assignments.toy]
title = "Toy"
upload = "toy.py"
sources = ["toy.py"]

[[assignments.toy.problems]]
id = "weak"
title = "weak"
points = 1
symbols = ["weak_softmax"]

[[assignments.toy.problems]]
id = "strong"
title = "strong"
points = 1
symbols = ["strong_softmax"]
"""

TOY_SOLUTION = '''\
import torch


def weak_softmax(x: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return torch.softmax(x * 2.0, dim=-1)
    ### END SOLUTION


def strong_softmax(x: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return torch.softmax(x * 2.0, dim=-1)
    ### END SOLUTION
'''

TOY_CHECKS = '''\
import torch

from autograder.checking.compare import expect, expect_tensor
from autograder.checking.registry import Checks

checks = Checks()
X = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7


@checks.add("weak", "the output has the input's shape (and nothing more)")
def _(ctx):
    got = ctx.student.call("weak_softmax", X)
    expect(tuple(got.shape) == (3, 4), f"shape={tuple(got.shape)}, but should be (3, 4)")


@checks.add("strong", "the values are softmax(2 x) over the last axis")
def _(ctx):
    expect_tensor(ctx.student.call("strong_softmax", X), ctx.ref.strong_softmax(X), "out", "strong_softmax(X)")
'''


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "toy.py").write_text(TOY_SOLUTION, encoding="utf-8")
    (tmp_path / "assignments" / "toy" / "hidden").mkdir(parents=True)
    (tmp_path / "assignments" / "toy" / "hidden" / "checks.py").write_text(TOY_CHECKS, encoding="utf-8")
    (tmp_path / "grading.toml").write_text(TOY_TOML, encoding="utf-8")
    cfg = config_mod.load(tmp_path / "grading.toml")
    return cfg, cfg.assignment("toy")


@pytest.mark.e2e
def test_weak_check_shows_survivors_and_strong_check_kills_them(toy):
    cfg, assignment = toy
    done = mutate(cfg, assignment, choose_isolation(), jobs=2, max_per_problem=3, progress=False)
    status = {}
    for outcome in done.outcomes:
        status.setdefault(outcome.mutant.problem, []).append(outcome.status)
    assert status == {"weak": ["survived"] * 3, "strong": ["killed"] * 3}
    text = report.text(done)
    assert "3 survivor(s)" in text and "+    return torch.softmax(x * 2.0, dim=-2)" in text
    assert "strong_softmax" not in text.split("survivor(s)")[1]  # only the weak problem's mutants survive

    # The record: every mutant's outcome, the fingerprint, and the proof table's column.
    path = cfg.root / "assignments" / "toy" / "mutation.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["fingerprint"] == record.fingerprint(cfg, assignment)
    assert [m["status"] for m in data["problems"]["strong"]["mutants"]] == ["killed"] * 3
    assert all("diff" in m for m in data["problems"]["weak"]["mutants"])
    assert record.proof_column(cfg, assignment) == {"weak": "0% (0/3)", "strong": "100% (3/3)"}

    # Accepting a survivor as equivalent takes it out of the score, without a new run.
    survivor = data["problems"]["weak"]["mutants"][0]["id"]
    equivalents.path_for(cfg.root, "toy").write_text(f'[[equivalent]]\nid = "{survivor}"\nreason = "accepted for this test only"\n', encoding="utf-8")
    assert record.proof_column(cfg, assignment)["weak"] == "0% (0/2)"

    # Changing the hidden tests makes the record stale.
    checks = cfg.root / "assignments" / "toy" / "hidden" / "checks.py"
    checks.write_text(checks.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert record.proof_column(cfg, assignment)["strong"] == "stale: 100% (3/3)"


@pytest.mark.unit
def test_cli_names_an_unknown_problem(toy, capsys):
    cfg, _ = toy
    status = cli.main(["--config", str(cfg.path), "mutate", "--assignment", "toy", "--problem", "nope"])
    assert status == 2
    assert "--problem nope: not a problem of toy (weak, strong)" in capsys.readouterr().err


@pytest.mark.unit
def test_build_proof_table_shows_the_mutation_column():
    from autograder.grade.outcome import CheckResult, Grade, ProblemResult

    assignment = _assignment(("weak", ["weak_softmax"]), ("strong", ["strong_softmax"]))
    grade = Grade(assignment, [ProblemResult(p, (CheckResult(p.id, "c", 1.0, 1.0, True),)) for p in assignment.problems])
    table = cli.score_table("toy: proof", [("reference", grade)], {"weak": "stale: 50% (1/2)"})
    lines = table.splitlines()
    assert lines[1].split() == ["problem", "points", "reference", "mutation", "score"]
    assert lines[3].split() == ["weak", "1", "1", "stale:", "50%", "(1/2)"]
    assert lines[4].split() == ["strong", "1", "1", "not", "run"]
    assert "mutation" not in cli.score_table("toy: proof", [("reference", grade)], {})


@pytest.mark.unit
def test_a_mutant_is_killed_crashed_or_survives_and_a_timeout_says_so():
    from autograder.staff.mutate.run import _status

    ended = {"note": "the time limit of 60 s for this problem ran out", "score": 0.0, "points": 2.0, "failed": ["learns:"]}
    assert _status(ended) == ("killed", "learns: the time limit of 60 s for this problem ran out")
    assert _status({"note": "", "score": 1.0, "points": 2.0, "failed": ["shape: got (2,)"]}) == ("killed", "shape: got (2,)")
    assert _status({"note": "importing your file raised NameError: x", "score": 0.0, "points": 2.0, "failed": ["a:"]})[0] == "crashed"
    assert _status({"note": "", "score": 2.0, "points": 2.0, "failed": []}) == ("survived", "")
