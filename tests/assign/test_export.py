"""Solution files merge into one upload; the student bundle's export script writes it."""
import ast
import subprocess
import sys

import pytest

from autograder.assign.export import ExportError, merge


@pytest.mark.unit
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


@pytest.mark.unit
def test_merge_reports_syntax_errors_with_file_and_line():
    with pytest.raises(ExportError, match=r"b.py, line 1"):
        merge([("a.py", "x = 1\n"), ("b.py", "def f(:\n  pass\n")])


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.unit
def test_unfinished_follows_the_last_definition():
    from autograder.assign.export import unfinished

    text = "def f():\n    raise NotImplementedError('f is not written yet')\n\nclass C:\n    def m(self):\n        return 1\n"
    assert unfinished(text, [("F", ("f",)), ("C", ("C",))]) == ["F"]
    assert unfinished(text + "\ndef f():\n    return 2\n", [("F", ("f",)), ("C", ("C",))]) == []
    assert unfinished("def f(:\n", [("F", ("f",))]) == []
