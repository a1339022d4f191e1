"""Solution regions become stubs; files merge into one upload; markers are checked."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.assign.export import ExportError, merge
from autograder.assign.markers import MarkerError, find_regions, make_stub, solution_lines

SOURCE = '''import torch


def given(x):
    return x + 1


def todo(x):
    """Docstring stays."""
    ### BEGIN SOLUTION
    y = x * 2
    return y
    ### END SOLUTION


class Thing:
    def method(self):
        ### BEGIN SOLUTION
        return 42
        ### END SOLUTION
'''


def test_stub_replaces_each_region_and_names_function_and_problem():
    stub = make_stub(SOURCE, Path("s.py"), {"Thing": "thing_problem"})
    assert "x * 2" not in stub and "return 42" not in stub
    assert "raise NotImplementedError('todo is not written yet: see the handout')" in stub
    assert "Thing.method (problem 'thing_problem') is not written yet" in stub
    assert '"""Docstring stays."""' in stub and "return x + 1" in stub
    namespace = {}
    exec(compile(stub, "stub", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["todo"](1)


@pytest.mark.parametrize(
    "text, where",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n", "s.py:3"),
        ("def f():\n    ### BEGIN SOLUTION\n    pass\n", "s.py:2"),
        ("def f():\n    pass\n    ### END SOLUTION\n", "s.py:3"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "s.py:1"),
        ("def f():\n    ### BEGIN SOLUTON\n    pass\n", "s.py:2"),
    ],
)
def test_bad_markers_name_file_and_line(text, where):
    with pytest.raises(MarkerError, match=where):
        find_regions(text, Path("s.py"))


def test_solution_lines_skip_lines_that_given_code_repeats():
    text = "def f(x):\n    return x + 1\n\ndef g(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    y = secret_formula(x)\n    ### END SOLUTION\n"
    assert solution_lines(text, Path("s.py")) == ["y = secret_formula(x)"]


def test_merge_gathers_imports_once_and_drops_sibling_imports():
    a = '"""A."""\nimport torch\nimport torch.nn as nn\n\n\ndef fa():\n    return 1\n'
    b = '"""B."""\nimport torch\nfrom a import fa\nfrom typing import (\n    List,\n)\n\n\ndef fb() -> List[int]:\n    return [fa()]\n'
    merged = merge([("a.py", a), ("b.py", b)], "header")
    tree = ast.parse(merged)
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == ["import torch", "import torch.nn as nn", "from typing import List"]
    namespace = {}
    exec(compile(merged, "merged", "exec"), namespace)
    assert namespace["fb"]() == [1]


def test_merge_reports_syntax_errors_with_file_and_line():
    with pytest.raises(ExportError, match=r"b.py, line 1"):
        merge([("a.py", "x = 1\n"), ("b.py", "def f(:\n  pass\n")])


def test_student_export_script_writes_the_upload(release_dir, tmp_path):
    student = release_dir / "hw3" / "student"
    work = tmp_path / "student"
    subprocess.run(["cp", "-r", str(student), str(work)], check=True)
    done = subprocess.run([sys.executable, "export_submission.py"], cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    upload = (work / "my_llm_implementation.py").read_text()
    ast.parse(upload)
    assert "class AttentionHead" in upload and "def nucleus_sampling" in upload
    assert "from attention import" not in upload
    assert "not finished yet" in done.stdout and "Part 2a: AttentionHead" in done.stdout  # the stubs are untouched


def test_export_script_lists_unfinished_problems_without_torch(repo_config, tmp_path):
    """The student's export still writes the upload, and names each problem whose code still raises
    NotImplementedError; with plain Python (`-S`: no site-packages, so no torch)."""
    from autograder.build.release import export_script, stubs

    assignment = repo_config.assignment("hw3")
    for name, text in stubs(repo_config, assignment).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "export_submission.py").write_text(export_script(assignment))
    (tmp_path / "attention.py").write_text((repo_config.root / "solutions" / "attention.py").read_text())  # Part 2 done
    done = subprocess.run([sys.executable, "-S", "export_submission.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "my_llm_implementation.py").is_file()
    listed = next(line for line in done.stdout.splitlines() if line.startswith("not finished yet"))
    for problem in assignment.problems:
        assert (problem.title in listed) == (not problem.id.startswith(("attention_head", "multi_headed", "transformer"))), problem.id


def test_unfinished_follows_the_last_definition():
    from autograder.assign.export import unfinished

    text = "def f():\n    raise NotImplementedError('f is not written yet')\n\nclass C:\n    def m(self):\n        return 1\n"
    assert unfinished(text, [("F", ("f",)), ("C", ("C",))]) == ["F"]
    assert unfinished(text + "\ndef f():\n    return 2\n", [("F", ("f",)), ("C", ("C",))]) == []
    assert unfinished("def f(:\n", [("F", ("f",))]) == []


def test_each_readme_says_how_to_get_the_cpu_only_torch(repo_config):
    for assignment in repo_config.assignments:
        folder = repo_config.root / "assignments" / assignment.id
        if "torch" in (folder / "requirements.txt").read_text():
            assert "--index-url https://download.pytorch.org/whl/cpu" in (folder / "README.md").read_text(), assignment.id


def test_train_dialogue_quick_is_a_small_run(repo_config, tmp_path):
    """`--quick` is a small workload (a slice of one play, a capped vocabulary, few steps), run
    with the reference solutions as the student's files."""
    for name in ("attention.py", "dialogue.py", "sampling.py"):
        (tmp_path / name).write_text((repo_config.root / "solutions" / name).read_text())
    script = tmp_path / "train_dialogue.py"  # beside the student's files, as in the bundle
    script.write_text((repo_config.root / "assignments" / "hw3" / "train_dialogue.py").read_text())
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--threads", "1", "--out-dir", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    vocabulary = int(re.search(r"vocabulary of (\d+) tokens", done.stdout).group(1))
    steps = int(re.search(r"parameters, (\d+) steps", done.stdout).group(1))
    assert vocabulary < 1000 and steps <= 20, done.stdout
    assert (tmp_path / "dialogue_loss.png").is_file() and "nucleus (p=0.9):" in done.stdout
