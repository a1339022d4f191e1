"""build: proven before written, nothing student-facing leaks, and the same tree gives the same bytes."""
import shutil
import subprocess
import sys
import zipfile

import pytest

from helpers import ATTENTION_TOML, ROOT, make_project, run_cli

pytestmark = pytest.mark.e2e


def test_release_layout(release_dir):
    for assignment in ("hw3",):
        folder = release_dir / assignment
        with zipfile.ZipFile(folder / "autograder.zip") as archive:
            names = set(archive.namelist())
            assert {"setup.sh", "run_autograder", "requirements.txt", "grading.toml"} <= names
            assert archive.getinfo("run_autograder").external_attr >> 16 & 0o111
        with zipfile.ZipFile(folder / "student.zip") as archive:
            student = set(archive.namelist())
        assert {"attention.py", "export_submission.py", "README.md", "pytest.ini", "tests/test_attention.py"} <= student
        assert not any(name.startswith(("assignments/", "hidden/", "corpus/", "solutions/")) for name in student)
        assert (folder / "reference" / "my_llm_implementation.py").is_file()


def test_two_builds_give_byte_identical_zips(release_dir, tmp_path):
    done = run_cli("build", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for name in ("student.zip", "autograder.zip"):
        assert (tmp_path / "hw3" / name).read_bytes() == (release_dir / "hw3" / name).read_bytes(), name


def test_build_prints_the_proof_table(release_dir):
    done = run_cli("build", "--out", str(release_dir.parent / "again"), "--assignment", "hw3")
    assert done.returncode == 0
    assert "reference" in done.stdout and "blank stubs" in done.stdout
    total = [line.split() for line in done.stdout.splitlines() if line.startswith("total")][0]
    assert total[1] == total[2] and total[3] == "0"


def _broken_project(tmp_path, edit):
    solutions = tmp_path / "solutions"
    shutil.copytree(ROOT / "solutions", solutions)  # a private copy to break; make_project links the rest
    edit(solutions / "attention.py")
    return make_project(tmp_path, ATTENTION_TOML.format(time_limit=60))


def test_build_refuses_a_wrong_reference_and_writes_nothing(tmp_path):
    def break_it(path):
        path.write_text(path.read_text().replace("dim=-1)  # (B, T, T)", "dim=1)  # (B, T, T)"))

    config = _broken_project(tmp_path, break_it)
    done = run_cli("--config", str(config), "build", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "the reference scores" in done.stderr and "attention_head" in done.stderr
    assert not (tmp_path / "out" / "hw3").exists()


def test_build_refuses_a_solution_line_in_student_files(tmp_path):
    def leak(path):
        text = path.read_text()
        path.write_text(text.replace("class FFN(nn.Module):", "# hint: self.W_O = nn.Linear(num_heads * n_hidden, dim)\nclass FFN(nn.Module):"))

    config = _broken_project(tmp_path, leak)
    done = run_cli("--config", str(config), "build", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "repeats a solution line" in done.stderr and "attention.py" in done.stderr


def test_visible_tests_fail_on_stubs_and_pass_on_the_reference(release_dir, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(release_dir / "hw3" / "student", student)
    stubbed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=student, capture_output=True, text=True)
    assert stubbed.returncode == 1 and "NotImplementedError" in stubbed.stdout
    for source in (ROOT / "solutions").glob("*.py"):
        shutil.copyfile(source, student / source.name)
    solved = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=student, capture_output=True, text=True)
    assert solved.returncode == 0, solved.stdout[-3000:]
