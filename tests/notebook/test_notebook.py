"""The notebook route, through the real nbgrader: the course that ``build`` writes is released and
autograded by nbgrader, and every score agrees with the Gradescope route on the same code.

One module fixture does the slow part once (each notebook run starts a kernel): generate the
assignment, then autograde three submissions (the instructor notebook, the released notebook as
is, and a student notebook with one bug per part, a problem left unwritten and a test cell
edited to claim full marks) while the same student notebook runs as a student would run it in
Jupyter, outside nbgrader. The tests then read the gradebook, the notebooks and the written files.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import nbclient
import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import config as config_mod
from autograder.assign.markers import solution_lines
from autograder.grade.engine import reference_source
from autograder.notebook.course import STUB, course_files
from autograder.uploads import export_cell, resolve
from helpers import ROOT

CONFIG = config_mod.load(ROOT / "grading.toml")
HW3 = CONFIG.assignment("hw3")
NOTEBOOK = "hw3.ipynb"
# One bug per part (the corpus's own files, each appended to its answer cell, as the corpus
# appends them to the reference), and MultiHeadedAttention left as nbgrader's stub.
BUGS = (
    "neurons__and_returns_or",
    "lstm_parity__and_instead_of_xor",
    "attention_head__mask_ignored",
    "patch_embed__column_major",
    "tokenizer__no_start_token",
    "dialogue_loss__no_shift",
    "nucleus_sampling__cumsum_le_p",
)
UNWRITTEN = (
    "\n\nclass MultiHeadedAttention(MultiHeadedAttention):\n    def __init__(self, dim, n_hidden, num_heads):\n"
    "        super().__init__(dim, n_hidden, num_heads)\n" + textwrap.indent(STUB, " " * 8) + "\n"
)
CLAIM = "2.0  # a student's edit: full marks, please"


def _bin() -> Path:
    return Path(sys.executable).parent


def _env() -> Dict[str, str]:
    """nbgrader runs ``alembic`` by name: the venv's bin first on PATH; no inherited nbgrader mode."""
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    env["PATH"] = f"{_bin()}{os.pathsep}{env.get('PATH', '')}"
    return env


def _nbgrader(course: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(_bin() / "nbgrader"), *args], cwd=course, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen, timeout: float = 900) -> str:
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out[-4000:]
    return out


def _cells(nb: dict) -> Dict[str, dict]:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"] if "nbgrader" in c.get("metadata", {})}


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _student_notebook(source: dict, released: dict) -> dict:
    """The released notebook with the instructor's answers, each bug in the answer cell that
    defines its problem's names, MultiHeadedAttention unwritten, and an edited test cell."""
    nb = copy.deepcopy(released)
    answers = {gid: _text(c) for gid, c in _cells(source).items() if c["metadata"]["nbgrader"]["solution"]}
    for (problem, patch) in [(bug.split("__")[0], _patch(bug)) for bug in BUGS] + [("multi_headed_attention", UNWRITTEN)]:
        symbols = set(HW3.problem(problem).symbols)
        home = [gid for gid, text in answers.items() if symbols & set(export_cell._nbx_defines(text))][0]
        answers[home] += "\n\n\n" + patch.strip("\n") + "\n"
    by_id = _cells(nb)
    for gid, text in answers.items():
        by_id[gid]["source"] = text
    by_id["test_neurons"]["source"] = CLAIM
    return nb


def _patch(bug: str) -> str:
    return (ROOT / "assignments" / "hw3" / "corpus" / "bugs" / f"{bug}.py").read_text()


def _corpus_py(config) -> str:
    """The same student code, the corpus way: the reference with the same bugs appended."""
    return reference_source(config, config.assignment("hw3")) + "\n\n" + "\n\n".join(_patch(bug) for bug in BUGS) + UNWRITTEN


@dataclass
class Course:
    root: Path
    released: dict
    student: dict  # the student notebook as submitted
    run: dict  # the student notebook after a plain run (as in Jupyter)
    student_dir: Path  # where that run happened (its export cell wrote the upload there)
    scores: Dict[str, Dict[str, float]]  # nbgrader's per-problem scores, by student
    grades_csv: Path
    py_scores: Dict[str, float]  # the Gradescope route's exact scores of the same code as a .py
    exported_results: dict  # `python -m autograder grade` on the file the export cell wrote
    autograde_log: str  # what `nbgrader autograde` printed


def _per_problem(gradebook: Path, student: str) -> Dict[str, float]:
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK[: -len(".ipynb")], "hw3", student)
        return {g.name[len("test_"):]: g.score for g in notebook.grades}


def _python(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run_like_jupyter(nb: dict, folder: Path) -> dict:
    node = nbformat.reads(json.dumps(nb), as_version=4)
    client = nbclient.NotebookClient(node, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}})
    client.execute()
    return json.loads(nbformat.writes(node))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def course(release_dir, tmp_path_factory, monkeypatch_module) -> Course:
    """Everything slow, once; independent steps overlap (each is mostly one busy process)."""
    monkeypatch_module.delenv("NBGRADER_EXECUTION", raising=False)  # the student's run is a plain one
    work = tmp_path_factory.mktemp("notebook")
    (work / "corpus.py").write_text(_corpus_py(CONFIG))
    py_grade = _python("-m", "autograder.notebook.score", str(work / "corpus.py"), "--config", str(ROOT / "grading.toml"),
                       "--assignment", "hw3", "--out", str(work / "corpus.json"))
    root = work / "nbgrader"
    shutil.copytree(release_dir / "hw3" / "nbgrader", root)
    # As if the instructor had run the source notebook's export cell: the reference, as the upload.
    (root / "source" / "hw3" / HW3.upload).write_text(reference_source(CONFIG, HW3))
    _finish(_nbgrader(root, "generate_assignment", "hw3"))
    source = json.loads((root / "source" / "hw3" / NOTEBOOK).read_text())
    released = json.loads((root / "release" / "hw3" / NOTEBOOK).read_text())
    student = _student_notebook(source, released)
    submissions = {"instructor": source, "blank": released, "student": student}
    for name, nb in submissions.items():
        folder = root / "submitted" / name / "hw3"
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_text(json.dumps(nb))
    autograde = _nbgrader(root, "autograde", "hw3", "--create")
    # Meanwhile the student runs the notebook in the released folder, as in Jupyter, and the file
    # its export cell writes is graded as a Gradescope upload.
    student_dir = work / "student" / "hw3"
    shutil.copytree(root / "release" / "hw3", student_dir)
    (student_dir / NOTEBOOK).write_text(json.dumps(student))
    run = _run_like_jupyter(student, student_dir)
    (work / "run.ipynb").write_text(json.dumps(run, indent=1))  # to read when a test fails
    exported = _python("-m", "autograder", "grade", str(student_dir / HW3.upload), "--assignment", "hw3", "--results", str(work / "exported.json"))
    autograde_log = _finish(autograde)
    (work / "autograde.log").write_text(autograde_log)  # to read when a test fails
    _finish(_nbgrader(root, "export"))
    _finish(py_grade)
    _finish(exported)
    scores = {name: _per_problem(root / "gradebook.db", name) for name in submissions}
    return Course(
        root, released, student, run, student_dir, scores, root / "grades.csv",
        json.loads((work / "corpus.json").read_text())["scores"], json.loads((work / "exported.json").read_text()), autograde_log,
    )


@pytest.mark.notebook
def test_the_release_has_stubs_and_neither_solutions_nor_hidden_tests(course):
    assert sorted(p.name for p in (course.root / "release" / "hw3").iterdir()) == [NOTEBOOK]
    text = (course.root / "release" / "hw3" / NOTEBOOK).read_text()
    for name in HW3.sources:
        path = ROOT / "solutions" / name
        leaked = [line for line in solution_lines(path.read_text(), path) if line in text]
        assert not leaked, f"{name}: {leaked[:3]}"
    assert "HIDDEN TESTS" not in text and "problem_score" not in text and "BEGIN SOLUTION" not in text
    cells = _cells(course.released)
    answers = [c for c in cells.values() if c["metadata"]["nbgrader"]["solution"]]
    assert answers and all('raise NotImplementedError("not written yet' in _text(c) for c in answers)
    tests = {gid: c["metadata"]["nbgrader"] for gid, c in cells.items() if c["metadata"]["nbgrader"]["grade"]}
    assert sorted(tests) == sorted(f"test_{p.id}" for p in HW3.problems)
    assert all(tests[f"test_{p.id}"]["points"] == p.points and tests[f"test_{p.id}"]["locked"] for p in HW3.problems)


@pytest.mark.notebook
def test_autograde_gives_the_instructor_full_marks_and_the_release_zero(course):
    assert course.scores["instructor"] == {p.id: p.points for p in HW3.problems}
    assert course.scores["blank"] == {p.id: 0.0 for p in HW3.problems}
    with course.grades_csv.open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(rows["instructor"]["score"]) == HW3.total_points == float(rows["instructor"]["max_score"])
    assert float(rows["blank"]["score"]) == 0.0
    assert float(rows["student"]["score"]) == pytest.approx(sum(course.scores["student"].values()))


@pytest.mark.notebook
def test_per_problem_scores_from_the_gradebook_in_the_regrade_columns(course, tmp_path):
    out = tmp_path / "problems.csv"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "--config", str(ROOT / "grading.toml"), "nbgrader-grades", "--course", str(course.root), "--out", str(out)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open() as handle:
        reader = csv.DictReader(handle)
        rows = {row["id"]: row for row in reader}
    assert reader.fieldnames == ["id", "name", "email", "sid", "total"] + [p.id for p in HW3.problems] + ["status", "error"]
    assert sorted(rows) == ["blank", "instructor", "student"]
    for student, scores in course.scores.items():
        assert {p: float(rows[student][p]) for p in scores} == pytest.approx(scores, abs=1e-4), student
        assert float(rows[student]["total"]) == pytest.approx(sum(scores.values()), abs=1e-4)
    assert rows["instructor"]["total"] == f"{HW3.total_points:g}" and rows["blank"]["total"] == "0"


@pytest.mark.notebook
def test_the_course_readme_names_the_warnings_autograde_gives(course):
    readme = (course.root / "README.md").read_text()
    warnings = [line for line in course.autograde_log.splitlines() if "WARNING" in line]
    for line in warnings:
        named = (
            ("checksum" in line.lower() and "checksum" in readme)
            or ("running over TCP without encryption" in line and "running over TCP without" in readme)
            or ("cell" in line.lower() and "cells" in readme)
        )
        assert named, line
    assert "nbgrader-grades" in readme


@pytest.mark.notebook
def test_a_test_cell_edited_by_the_student_is_graded_with_the_original_tests(course):
    assert _text(_cells(course.student)["test_neurons"]) == CLAIM
    assert course.scores["student"]["neurons"] == course.py_scores["neurons"] < 2
    graded = json.loads((course.root / "autograded" / "student" / "hw3" / NOTEBOOK).read_text())
    restored = _text(_cells(graded)["test_neurons"])
    assert "_visible_checks('neurons'" in restored and "problem_score('neurons'" in restored


@pytest.mark.notebook
def test_a_notebook_and_a_py_upload_of_the_same_code_score_the_same_on_every_problem(course):
    notebook = course.scores["student"]
    assert notebook == pytest.approx(course.py_scores, abs=1e-6)
    for bug in BUGS:
        problem = bug.split("__")[0]
        assert notebook[problem] < HW3.problem(problem).points, f"{bug} was not caught"
    assert notebook["multi_headed_attention"] == 0 and notebook["neurons"] > 0


@pytest.mark.notebook
def test_the_export_cell_writes_the_upload_that_grades_as_the_notebook(course):
    written = (course.student_dir / HW3.upload).read_text()
    # The .ipynb uploaded to Gradescope is read as exactly this code (and the test cells' hidden
    # part graded the notebook that way), so all three routes grade the same code.
    assert resolve(course.root / "submitted" / "student" / "hw3" / NOTEBOOK, HW3.upload).source == written
    results = course.exported_results
    by_problem = {p.id: sum(t["score"] for t in results["tests"] if p.id in t["tags"]) for p in HW3.problems}
    assert by_problem == pytest.approx(course.scores["student"], abs=1e-3)  # results.json rounds each check
    assert results["score"] == pytest.approx(sum(course.scores["student"].values()), abs=1e-4)


def _error_text(cell: dict) -> str:
    return "\n".join(line for o in cell["outputs"] if o["output_type"] == "error" for line in o["traceback"])


def _stdout(cell: dict) -> str:
    texts = [o["text"] for o in cell["outputs"] if o["output_type"] == "stream"]
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


@pytest.mark.notebook
def test_a_student_running_the_notebook_sees_the_graders_messages(course):
    cells = _cells(course.run)
    unwritten = _error_text(cells["test_multi_headed_attention"])
    assert "MultiHeadedAttention.__init__ (problem 'multi_headed_attention') is not written yet" in unwritten
    assert "calling `mha = MultiHeadedAttention(dim=6, n_hidden=4, num_heads=3)` raised NotImplementedError" in unwritten
    masked = _error_text(cells["test_attention_head"])
    assert "1 of 3 visible checks failed" in masked and "alpha[0]=" in masked and "but should be" in masked
    tokenizer = _error_text(cells["test_tokenizer"])
    assert 'tok.encode("to be , sir").tolist() is [6, 3, 2, 2], but should be [0, 6, 3, 2, 2]' in tokenizer
    assert "(problem 'multi_headed_attention') is not written yet" in _error_text(cells["test_transformer"])
    loss = _error_text(cells["test_dialogue_loss"])  # the loss without the shift: a known answer shows it
    assert "1 of 2 visible checks failed" in loss and "the logits at i - 1 predict token i" in loss
    # DialogueGPT's tests point at the part it is built on that fails its own check (AttentionHead here)
    assert "fix Part 2a (AttentionHead) first" in _error_text(cells["test_dialogue_gpt"])
    assert "Traceback" not in masked + unwritten  # the message alone, not the helper's frames
    assert f"wrote {course.student_dir / HW3.upload}" in _stdout(cells["export"])


# ---------------------------------------------------------------------------------------------
# Fast checks, no kernel


def _cell(grade_id: str, text: str, **flags) -> dict:
    meta = {"grade": False, "solution": False, "locked": False, "grade_id": grade_id, **flags}
    return {"cell_type": "code", "metadata": {"nbgrader": meta}, "source": text, "outputs": []}


@pytest.mark.unit
def test_a_notebook_upload_is_graded_from_its_answer_and_given_cells_only(tmp_path):
    nb = {
        "metadata": {"autograder": {"modules": ["attention"]}},
        "cells": [
            _cell("given_a_1", "import torch\nfrom attention import Transformer", locked=True),
            _cell("solution_a_2", "from __future__ import annotations\n%matplotlib inline\nfrom attention import FFN\nX = 1", solution=True),
            _cell("test_x", "raise SystemExit('a test cell')", grade=True, locked=True, points=1),
            _cell("export", "raise SystemExit('the export cell')", locked=True),
            {"cell_type": "code", "metadata": {}, "source": "def helper():\n    return 2\n", "outputs": []},
        ],
    }
    (tmp_path / "hw3.ipynb").write_text(json.dumps(nb))
    upload = resolve(tmp_path / "hw3.ipynb", HW3.upload)
    body = [line for line in upload.source.splitlines() if line and not line.startswith(("#", '"""'))]
    assert body == ["from __future__ import annotations", "import torch", "X = 1"]
    assert any("helper is defined in a cell you added" in note for note in upload.notes)


@pytest.mark.unit
def test_the_export_refuses_a_notebook_saved_before_its_last_run(tmp_path, monkeypatch):
    nb = {"metadata": {}, "cells": [_cell("solution_a_1", "def f():\n    return 1\n", solution=True)]}
    (tmp_path / NOTEBOOK).write_text(json.dumps(nb))
    ran = ["def f():\n    return 2\n"]
    shell = types.SimpleNamespace(history_manager=types.SimpleNamespace(input_hist_raw=ran))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(export_cell._NbxExportError, match="the cell defining f differs"):
        export_cell._nbx_export(NOTEBOOK, HW3.upload)
    assert not (tmp_path / HW3.upload).exists()
    ran.append("def f():\n    return 1\n")  # after running the saved version, it exports
    export_cell._nbx_export(NOTEBOOK, HW3.upload)
    assert "return 1" in (tmp_path / HW3.upload).read_text()


@pytest.mark.e2e
def test_the_course_directory_is_the_same_bytes_on_every_build(release_dir):
    folder = release_dir / "hw3" / "nbgrader"
    written = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    grader = {name[len("grader/"):]: data for name, data in written.items() if name.startswith("grader/")}
    again = course_files(CONFIG, HW3, {**grader, "setup.sh": b"not copied"})
    assert again == written
