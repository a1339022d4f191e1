"""pico-llm and decoding-lab: the shared nucleus problem, the reference beam search's early stop,
the releases, the student bundles, and the two offline scripts (quick modes).

The mutant corpora of both assignments run in test_corpus.py, with every other assignment's.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import nbclient
import nbformat
import pytest
from hypothesis import HealthCheck, assume, given, settings

from autograder import config as config_mod
from autograder.grade.engine import hidden_files, load_checks, reference_module
from helpers import ROOT

CONFIG = config_mod.load(ROOT / "grading.toml")
PICO = CONFIG.assignment("pico-llm")
LAB = CONFIG.assignment("decoding-lab")
QUIET = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}  # small models: one thread is fastest


def _hidden_module(relative: str) -> ModuleType:
    path = ROOT / "assignments" / relative
    name = "test_" + relative.replace("/", "_").replace("-", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.unit
def test_nucleus_sampling_is_one_solution_and_one_set_of_checks_for_both_assignments():
    hw3 = CONFIG.assignment("hw3")
    assert "sampling.py" in PICO.sources and "sampling.py" in hw3.sources
    shared = ROOT / "assignments" / "hw3" / "hidden" / "sampling.py"
    assert shared in hidden_files(CONFIG, PICO) and shared in hidden_files(CONFIG, hw3)
    pico_checks = [c.name for c in load_checks(CONFIG, PICO)["nucleus_sampling"]]
    hw3_checks = [c.name for c in load_checks(CONFIG, hw3)["nucleus_sampling"]]
    assert pico_checks == hw3_checks and len(pico_checks) >= 4
    # pico-llm takes no other hw3 checks
    assert [p for p in hidden_files(CONFIG, PICO) if p.parent.parent.name == "hw3"] == [shared]


@pytest.mark.e2e  # not unit: hundreds of hypothesis examples through the reference (20 s on a busy machine)
def test_reference_beam_search_stops_early_without_changing_the_answer():
    """Georgia Tech's rule on the reference: the same answer as a search to max_len, and the stop
    right after the first step where best completed >= best live (hundreds of drawn problems)."""
    beam = _hidden_module("decoding-lab/hidden/beam.py")
    ref = reference_module(CONFIG, LAB)
    seen = {"compared": 0, "stopped_early": 0}

    @settings(max_examples=400, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(beam.cases())
    def prop(case):
        run = beam.full_search(case)
        assume(not run.close)
        step = ref.NGramStep(case.table, case.bos)
        tokens, score = ref.beam_search(step, case.bos, case.eos, case.beam, case.max_len)
        assert tokens == run.best[0] and abs(score - run.best[1]) < 1e-6, (case, tokens, score, run.best)
        assert step.longest == run.stop_step, (case, step.longest, run.stop_step)
        seen["compared"] += 1
        seen["stopped_early"] += run.stop_step < case.max_len and run.best[0][-1] == case.eos

    prop()
    # The property must have been exercised: many searches where early stopping saved steps.
    assert seen["compared"] > 300 and seen["stopped_early"] > 50, seen


@pytest.mark.e2e
@pytest.mark.parametrize(
    "assignment, upload, student_files",
    [
        ("pico-llm", "pico_llm.py", {"sampling.py", "pico_models.py", "train_pico.py", "tests/test_pico.py", "requirements.txt"}),
        (
            "decoding-lab",
            "decoding_lab.py",
            {"lab_models.py", "perplexity.py", "decoding.py", "beam_search.py", "scaling_study.py", "tests/test_lab.py", "requirements.txt"},
        ),
    ],
)
def test_release_layout(release_dir, assignment, upload, student_files):
    folder = release_dir / assignment
    with zipfile.ZipFile(folder / "student.zip") as archive:
        names = set(archive.namelist())
        export = archive.read("export_submission.py").decode()
    assert student_files | {"README.md", "export_submission.py", "pytest.ini"} <= names
    assert not any(n.startswith(("assignments/", "hidden/", "corpus/", "solutions/")) for n in names)
    assert f"UPLOAD = {upload!r}" in export
    assert (folder / "reference" / upload).is_file()
    with zipfile.ZipFile(folder / "autograder.zip") as archive:
        hidden = {n for n in archive.namelist() if n.startswith("assignments/")}
    own = {f"assignments/{assignment}/hidden/{p.name}" for p in (ROOT / "assignments" / assignment / "hidden").glob("*.py")}
    extra = {"assignments/hw3/hidden/sampling.py"} if assignment == "pico-llm" else set()
    assert hidden == own | extra


@pytest.mark.e2e
@pytest.mark.parametrize("assignment", ["hw3", "pico-llm", "decoding-lab"])
def test_autograder_zip_config_loads_with_only_its_own_solutions(release_dir, tmp_path, assignment):
    """The zip's grading.toml is cut down to its assignment: the whole file names other
    assignments' solution files, which the zip does not hold, and would not load."""
    with zipfile.ZipFile(release_dir / assignment / "autograder.zip") as archive:
        archive.extractall(tmp_path)
    loaded = config_mod.load(tmp_path / "grading.toml")
    assert [a.id for a in loaded.assignments] == [assignment]
    assert loaded.assignment(assignment).problems == CONFIG.assignment(assignment).problems
    assert loaded.assignment(assignment).hidden == CONFIG.assignment(assignment).hidden


def _solved_bundle(release_dir: Path, assignment: str, target: Path) -> Path:
    """The student bundle with every stub replaced by the reference solution file."""
    shutil.copytree(release_dir / assignment / "student", target)
    for name in CONFIG.assignment(assignment).sources:
        shutil.copyfile(ROOT / "solutions" / name, target / name)
    return target


@pytest.mark.e2e
@pytest.mark.parametrize("assignment", ["pico-llm", "decoding-lab"])
def test_visible_tests_fail_on_stubs_and_pass_on_the_reference(release_dir, tmp_path, assignment):
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    stubs = tmp_path / "stubs"
    shutil.copytree(release_dir / assignment / "student", stubs)
    stubbed = subprocess.run(pytest_args, cwd=stubs, capture_output=True, text=True, env=QUIET)
    assert stubbed.returncode == 1 and "NotImplementedError" in stubbed.stdout
    assert " passed" not in stubbed.stdout.splitlines()[-1], stubbed.stdout[-500:]  # every visible test needs student code
    solved = _solved_bundle(release_dir, assignment, tmp_path / "solved")
    done = subprocess.run(pytest_args, cwd=solved, capture_output=True, text=True, env=QUIET)
    assert done.returncode == 0, done.stdout[-3000:]
    exported = subprocess.run([sys.executable, "export_submission.py"], cwd=solved, capture_output=True, text=True)
    assert exported.returncode == 0 and (solved / CONFIG.assignment(assignment).upload).is_file(), exported.stderr


@pytest.mark.e2e
def test_train_pico_quick_run(release_dir, tmp_path):
    bundle = _solved_bundle(release_dir, "pico-llm", tmp_path / "pico")
    done = subprocess.run(
        [sys.executable, "train_pico.py", "--quick", "--out-dir", str(tmp_path)], cwd=bundle, capture_output=True, text=True, env=QUIET, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "pico_loss.png").stat().st_size > 10_000
    for label in ("--- greedy ---", "--- nucleus p=0.5 ---", "--- nucleus p=1.0 ---", "Transformer", "k-gram MLP"):
        assert label in done.stdout, done.stdout[-2000:]
    assert "step" in done.stderr  # the progress bars


@pytest.mark.notebook
def test_scaling_study_notebook_runs_on_the_students_functions(release_dir, tmp_path):
    bundle = _solved_bundle(release_dir, "decoding-lab", tmp_path / "lab")
    written = subprocess.run([sys.executable, "scaling_study.py", "--notebook"], cwd=bundle, capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    notebook = nbformat.read(bundle / "scaling_study.ipynb", as_version=4)
    nbformat.validate(notebook)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and kinds.count("code") >= 6
    assert not any("--notebook" in cell.source for cell in notebook.cells)  # the writer stays out
    environment = {"SCALING_STUDY_QUICK": "1", "OMP_NUM_THREADS": "1"}
    saved = {k: os.environ.get(k) for k in environment}
    os.environ.update(environment)  # the kernel inherits this process's environment
    try:
        client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(bundle)}})
        client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    printed = "".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "mean" in printed and "hardest characters" in printed, printed[-2000:]
    for figure in ("scaling.png", "token_difficulty.png"):
        assert (bundle / figure).stat().st_size > 10_000, figure
