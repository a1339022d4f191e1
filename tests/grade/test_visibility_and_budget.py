"""What students may see, and when grading must stop, through the real entry points:
Gradescope's ``run_autograder`` for visibility, ``python -m autograder grade`` for the time budget
of a whole submission, and a notebook whose cell metadata tries to break out of generated code."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from autograder import config as config_mod
from autograder.config import ConfigError

from helpers import ATTENTION_TOML, ROOT, make_project, narrowed_toml, run_cli

pytestmark = pytest.mark.e2e

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "results.schema.json").read_text())
BUG_IN_TRANSFORMER = ROOT / "assignments" / "hw3" / "corpus" / "bugs" / "transformer__shared_layers.py"
TITLES = {"attention_head": "Part 2a: AttentionHead", "multi_headed_attention": "Part 2b: MultiHeadedAttention", "transformer": "Part 2c: Transformer"}


def with_visibility(toml: str, visibility: dict) -> str:
    """``toml`` with a ``visibility`` line added to the named problems' tables."""
    for problem, value in visibility.items():
        toml = toml.replace(f'id = "{problem}"', f'id = "{problem}"\nvisibility = "{value}"')
    return toml


def laid_out_root(tmp_path: Path, toml: str) -> Path:
    """A folder laid out as Gradescope's /autograder: source/ holds the grader and its grading.toml."""
    root = tmp_path / "autograder"
    source = make_project(root / "source", toml).parent
    shutil.copytree(ROOT / "autograder", source / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "autograder" / "build" / "gradescope" / "run_autograder", source / "run_autograder")
    (source / "ASSIGNMENT").write_text("hw3\n")
    (root / "submission").mkdir()
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(Path(os.sys.executable))}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results


def test_students_see_only_visible_problems_scores_until_release(tmp_path, attention_reference):
    toml = with_visibility(ATTENTION_TOML.format(time_limit=20), {"multi_headed_attention": "after_due_date", "transformer": "hidden"})
    root = laid_out_root(tmp_path, toml)
    (root / "submission" / "my_llm_implementation.py").write_text(attention_reference + "\n" + BUG_IN_TRANSFORMER.read_text())
    results = run_autograder(root)
    graded = [t for t in results["tests"] if t["tags"] != ["total"]]
    scores = {}
    for test in graded:
        scores[test["tags"][0]] = round(scores.get(test["tags"][0], 0) + test["score"], 4)
    assert scores["attention_head"] == 4 and scores["multi_headed_attention"] == 3 and scores["transformer"] < 3  # the bug counts
    assert results["score"] == round(sum(scores.values()), 4)  # what Gradescope records: the true total
    visibility = {t["tags"][0]: t["visibility"] for t in graded}
    assert visibility == {"attention_head": "visible", "multi_headed_attention": "after_due_date", "transformer": "hidden"}
    # the top-level text (always shown): the visible problem's score, and when the others are shown
    output = results["output"]
    assert output.splitlines()[:2] == ["Narrowed hw3: 4 / 4 points on the problems shown now.", "- Part 2a: AttentionHead: 4 / 4"]
    assert "- Part 2b: MultiHeadedAttention (3 points): shown to you after the due date (after the late due date" in output
    assert "- Part 2c: Transformer (3 points): never shown to students (course staff see them)." in output
    assert "Your total score is not shown to you" in output and "released later" not in output
    for title in (TITLES["multi_headed_attention"], TITLES["transformer"]):
        assert f"{title}: " not in output  # no score line for them
    assert f"{results['score']:g}" not in output.split("\n", 2)[2]  # nor the total
    # Gradescope hides the total from students when a test is hidden: one 0-point hidden test says so
    (total,) = [t for t in results["tests"] if t["tags"] == ["total"]]
    assert total["visibility"] == "hidden" and total["score"] == 0 and total["max_score"] == 0
    assert "multi_headed_attention, transformer" in total["output"]


def test_after_published_alone_still_withholds_the_total(tmp_path, attention_reference):
    """No problem is hidden, so without the added hidden test the total would show every score."""
    toml = with_visibility(ATTENTION_TOML.format(time_limit=20), {"transformer": "after_published"})
    root = laid_out_root(tmp_path, toml)
    (root / "submission" / "my_llm_implementation.py").write_text("x = (\n")  # graded 0, nothing runs
    results = run_autograder(root)
    assert [t["visibility"] for t in results["tests"] if t["tags"] == ["total"]] == ["hidden"]
    assert "- Part 2c: Transformer (3 points): shown to you when course staff publish the grades." in results["output"]
    assert "- Part 2a: AttentionHead: 0 / 4" in results["output"] and "Part 2c: Transformer: " not in results["output"]


def test_all_visible_shows_the_total_and_adds_no_test(tmp_path):
    root = laid_out_root(tmp_path, ATTENTION_TOML.format(time_limit=20))
    (root / "submission" / "my_llm_implementation.py").write_text("x = (\n")
    results = run_autograder(root)
    assert results["output"].startswith("Narrowed hw3: 0 / 10 points.") and all(t["tags"] != ["total"] for t in results["tests"])


HANG_AT_IMPORT = "\nwhile True:\n    pass\n"


def test_a_submission_that_is_slow_at_every_import_is_stopped_by_the_budget(tmp_path, attention_reference):
    """Each problem alone may take 60 s; the whole submission only 20 s: the first problem's limit is
    cut to what is left of the budget, and the others are not graded at all."""
    toml = narrowed_toml(
        ["attention_head", "multi_headed_attention", "transformer"], ["attention.py"], time_limit=60, max_examples=10, submission_time_limit=20
    )
    cfg = make_project(tmp_path / "project", toml)
    upload = tmp_path / "my_llm_implementation.py"
    upload.write_text(attention_reference + HANG_AT_IMPORT)
    out = tmp_path / "results.json"
    done = run_cli("--config", str(cfg), "grade", str(upload), "--assignment", "hw3", "--results", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0
    outputs = {}
    for test in results["tests"]:
        outputs.setdefault(test["tags"][0], []).append(test["output"])
    assert all(o.startswith("not graded to the end: the time budget for the whole submission (20 s") for o in outputs["attention_head"])
    assert all("its time limit was cut to the" in o and "the time limit of" in o for o in outputs["attention_head"])
    for problem in ("multi_headed_attention", "transformer"):
        assert all(o.startswith("not graded: the time budget for the whole submission ran out (20 s") for o in outputs[problem]), problem
    assert "Note: the time budget for the whole submission (20 s) ran out" in results["output"]


def test_the_budget_key_is_documented_and_checked(tmp_path):
    keys = run_cli("keys")
    assert keys.returncode == 0 and "submission_time_limit: seconds of wall-clock time for grading one whole submission" in keys.stdout
    assert config_mod.load(make_project(tmp_path / "c", ATTENTION_TOML.format(time_limit=8))).assignment("hw3").time_budget == 300
    zero = ATTENTION_TOML.format(time_limit=8).replace("[defaults]", "[defaults]\nsubmission_time_limit = 0")
    with pytest.raises(ConfigError, match=r"\[defaults\]\.submission_time_limit=0, but should be greater than 0"):
        config_mod.load(make_project(tmp_path / "a", zero))
    per_problem = ATTENTION_TOML.format(time_limit=8).replace('id = "transformer"', 'id = "transformer"\nsubmission_time_limit = 5')
    with pytest.raises(ConfigError, match=r"unknown key 'submission_time_limit'"):
        config_mod.load(make_project(tmp_path / "b", per_problem))
    per_assignment = ATTENTION_TOML.format(time_limit=8).replace('title = "Narrowed hw3"', 'title = "Narrowed hw3"\nsubmission_time_limit = 42')
    assert config_mod.load(make_project(tmp_path / "d", per_assignment)).assignment("hw3").time_budget == 42


def test_a_grade_id_with_a_newline_stays_in_its_comment(tmp_path):
    """Cell metadata and the notebook's file name are echoed into the code the notebook exports:
    a newline or triple quote in them must not become code (here it would be a syntax error)."""
    cfg = make_project(tmp_path / "project", ATTENTION_TOML.format(time_limit=8))
    cell = {
        "cell_type": "code", "execution_count": None, "id": "a", "outputs": [], "source": ["VALUE = 1\n"],
        "metadata": {"nbgrader": {"grade": False, "grade_id": "answer\n)\x1b[2J", "locked": False, "schema_version": 3, "solution": True, "task": False}},
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / 'hw"""\n).ipynb').write_text(json.dumps(notebook))
    out = tmp_path / "results.json"
    done = run_cli("--config", str(cfg), "grade", str(folder), "--assignment", "hw3", "--results", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    text = results["output"] + "".join(t["output"] for t in results["tests"])
    assert "syntax error" not in text and "your file defines no AttentionHead" in text  # it was parsed and run
    assert "\x1b" not in json.dumps(results, ensure_ascii=False)
