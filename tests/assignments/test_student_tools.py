"""What students run besides the tests: the install instructions and the training scripts' quick path."""
import re
import subprocess
import sys

import pytest


@pytest.mark.unit
def test_each_readme_says_how_to_get_the_cpu_only_torch(repo_config):
    for assignment in repo_config.assignments:
        folder = repo_config.root / "assignments" / assignment.id
        if "torch" in (folder / "requirements.txt").read_text():
            assert "--index-url https://download.pytorch.org/whl/cpu" in (folder / "README.md").read_text(), assignment.id


@pytest.mark.e2e
def test_train_dialogue_quick_is_a_small_run(repo_config, tmp_path):
    """`--quick` is a small workload (a slice of one play, a capped vocabulary, few steps), run
    with the reference solutions as the student's files."""
    for name in ("attention.py", "dialogue.py", "sampling.py"):
        (tmp_path / name).write_text((repo_config.root / "solutions" / name).read_text())
    script = tmp_path / "train_dialogue.py"  # beside the student's files, as in the bundle
    script.write_text((repo_config.root / "assignments" / "hw3" / "train_dialogue.py").read_text())
    done = subprocess.run([sys.executable, str(script), "--quick", "--out-dir", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    vocabulary = int(re.search(r"vocabulary of (\d+) tokens", done.stdout).group(1))
    steps = int(re.search(r"parameters, (\d+) steps", done.stdout).group(1))
    assert vocabulary < 1000 and steps <= 20, done.stdout
    assert (tmp_path / "dialogue_loss.png").is_file() and "nucleus (p=0.9):" in done.stdout
