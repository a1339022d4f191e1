"""The command line's own errors: one plain line and a non-zero status, before any grading.

A typo in the upload path must not give a silent zero, and a ``--results`` that cannot be
written must fail before the grading it would waste (and leave no ``.partial`` file). The
Gradescope entry point is the exception: it always writes results.json and exits 0.
"""
from __future__ import annotations

import json

import pytest

from helpers import run_cli, validate

pytestmark = pytest.mark.e2e


def _grade(project, upload, results):
    cfg, _ = project
    return run_cli("--config", str(cfg.path), "grade", str(upload), "--assignment", "hw3", "--results", str(results), timeout=1200)


def test_a_missing_upload_is_an_error_not_a_zero(attention_project, tmp_path):
    done = _grade(attention_project, tmp_path / "my_llm_implementaton.py", tmp_path / "r.json")
    assert done.returncode == 2
    assert f"error: {tmp_path / 'my_llm_implementaton.py'}: no such file or folder" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r.json").exists()


def test_results_that_cannot_be_written_fail_before_grading(attention_project, attention_reference, tmp_path):
    upload = tmp_path / "my_llm_implementation.py"
    upload.write_text(attention_reference)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for target, expected in ((tmp_path, "is a folder"), (blocker / "r.json", "is not a folder")):
        done = _grade(attention_project, upload, target)
        assert done.returncode == 2, done.stderr[-2000:]
        assert f"error: --results {target}: " in done.stderr and expected in done.stderr, done.stderr[-2000:]
        assert "Traceback" not in done.stderr and "isolation:" not in done.stderr  # nothing was graded
    assert not list(tmp_path.glob("*.partial"))


def test_the_gradescope_entry_point_answers_even_without_a_submission(attention_project, tmp_path):
    cfg, assignment = attention_project
    root = tmp_path / "autograder"
    root.mkdir()
    (root / "source").symlink_to(cfg.root)
    done = run_cli("gradescope", "--root", str(root), "--assignment", "hw3", timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    assert results["score"] == 0 and "nothing was uploaded" in results["output"]
    assert "The autograder itself failed" not in results["output"]


def test_grade_narrowed_to_a_problem_grades_only_that_problem(attention_project, attention_reference, tmp_path):
    cfg, _ = attention_project
    upload = tmp_path / "my_llm_implementation.py"
    upload.write_text(attention_reference)
    out = tmp_path / "r.json"
    base = ("--config", str(cfg.path), "grade", str(upload), "--assignment", "hw3", "--results", str(out))
    done = run_cli(*base, "--problem", "attention_hed", timeout=1200)
    assert done.returncode == 2 and not out.exists()
    assert "error: --problem attention_hed: hw3 has no such problem; its problems: attention_head, multi_headed_attention, transformer" in done.stderr
    done = run_cli(*base, "--problem", "attention_head", timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    validate(results)
    assert {test["tags"][0] for test in results["tests"]} == {"attention_head"}
    assert results["score"] == 4
