"""What students may see before results are released, through Gradescope's own entry point
(``run_autograder`` on a folder laid out as /autograder): only visible problems' scores in the
top-level text, and the total withheld while any problem is not visible."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from helpers import ATTENTION_TOML, ROOT, make_project

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
