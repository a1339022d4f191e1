"""End to end through the real command line: scores, results.json format, determinism."""
import json
import shutil
from pathlib import Path

import pytest

from autograder.assign.export import merge
from autograder.build.release import stubs
from helpers import BUG, by_problem, run_cli, validate

pytestmark = pytest.mark.e2e

def grade(project, source: str, tmp_path: Path, name: str = "my_llm_implementation.py", extra=()) -> dict:
    cfg, _ = project
    tmp_path.mkdir(parents=True, exist_ok=True)
    upload = tmp_path / name
    upload.write_text(source, encoding="utf-8")
    out = tmp_path / f"{name}.results.json"
    done = run_cli("--config", str(cfg.path), "grade", str(upload), "--assignment", "hw3", "--results", str(out), *extra)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    validate(results)
    return results


def test_reference_full_marks_and_stubs_zero(attention_project, attention_reference, tmp_path):
    cfg, assignment = attention_project
    full = grade(attention_project, attention_reference, tmp_path / "ref")
    assert full["score"] == assignment.total_points
    assert all(t["status"] == "passed" for t in full["tests"])
    blank = grade(attention_project, merge(list(stubs(cfg, assignment).items())), tmp_path / "stub")
    assert blank["score"] == 0
    assert all("NotImplementedError" in t["output"] and "see the handout" in t["output"] for t in blank["tests"])


def test_bug_loses_points_on_its_own_problem_with_an_explained_failure(attention_project, attention_reference, tmp_path):
    results = grade(attention_project, attention_reference + "\n" + BUG.read_text(), tmp_path)
    scores = by_problem(results)
    assert scores["attention_head"] < 4 and scores["multi_headed_attention"] == 3 and scores["transformer"] == 3
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    text = "\n".join(t["output"] for t in failed)
    assert "but should be" in text and "Reproduce" in text and "AttentionHead(" in text


def test_regrading_gives_identical_results(attention_project, attention_reference, tmp_path):
    source = attention_reference + "\n" + BUG.read_text()
    first = grade(attention_project, source, tmp_path / "a")
    second = grade(attention_project, source, tmp_path / "b")
    first.pop("execution_time")
    second.pop("execution_time")
    assert first == second


def test_upload_in_a_folder_zip_or_under_another_name(attention_project, attention_reference, tmp_path):
    cfg, assignment = attention_project
    folder = tmp_path / "folder" / "nested"
    folder.mkdir(parents=True)
    (folder / "my_llm_implementation.py").write_text(attention_reference)
    shutil.make_archive(str(tmp_path / "upload"), "zip", tmp_path / "folder")
    for target in (tmp_path / "folder", tmp_path / "upload.zip"):
        out = tmp_path / "r.json"
        assert run_cli("--config", str(cfg.path), "grade", str(target), "--assignment", "hw3", "--results", str(out)).returncode == 0
        assert json.loads(out.read_text())["score"] == assignment.total_points
    renamed = grade(attention_project, attention_reference, tmp_path / "renamed", name="hw3_final.py")
    assert renamed["score"] == assignment.total_points and "Name your file my_llm_implementation.py" in renamed["output"]


