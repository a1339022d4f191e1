"""Every reproducer in a failure message is code a student can paste after their file and run.

hw3 corpus bugs are graded (the reference upload with the bug appended), and each failed check's
"Reproduce" block is run after the upload's own code in a fresh Python: it must hold no ``<...>``
placeholder nor a stand-in for values not shown, stay well inside one test's output cap, and run
to the end, or stop on an error raised in the upload's own code (the student's error is the point).
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grade.engine import grade_uploads, reference_source
from autograder.grade.results import MAX_OUTPUT_CHARS
from autograder.uploads import Upload
from helpers import ROOT

pytestmark = pytest.mark.e2e

# Corpus bugs whose failures show seeded weights in a composite (the reproducer's loop over the
# state dict) and a state dict loaded by key.
CORPUS = ["multi_headed_attention__reversed_heads", "transformer__mask_not_passed"]
# A PatchEmbed wrong only on images of 12 pixels or more: its smallest failing example keeps
# inputs too big to print in full (more than 512 values: the probe images, the moved pixel).
LARGE = '''
class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, nin, nout):
        super().__init__()
        self.img_size = img_size
        self.proj = nn.Conv2d(nin, nout, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        out = self.proj(x).flatten(start_dim=2).transpose(1, 2)  # (B, n*n, nout)
        return out.flip(1) if self.img_size >= 12 else out
'''
BUGS = CORPUS + ["patch_embed__large_images_reversed"]
HEADER = "Reproduce (smallest failing example found):\n"
PLACEHOLDER = re.compile(r"<[^<>\n]*>|stand-in: the grader's")


def _blocks(repo_config) -> dict:
    """The reproducer of every failed check, by (bug, check name), and each bug's upload."""
    assignment = repo_config.assignment("hw3")
    reference = reference_source(repo_config, assignment)
    uploads = {bug: Upload(reference + "\n\n" + (ROOT / "assignments/hw3/corpus/bugs" / f"{bug}.py").read_text()) for bug in CORPUS}
    uploads["patch_embed__large_images_reversed"] = Upload(reference + "\n\n" + LARGE)
    grades = grade_uploads(repo_config, assignment, uploads, only={bug: [bug.split("__")[0]] for bug in BUGS})
    found = {}
    for bug, grade in grades.items():
        for problem in grade.problems:
            for check in problem.checks:
                if not check.passed:
                    assert HEADER in check.message, f"{bug}: {check.name} failed without a reproducer:\n{check.message}"
                    assert len(check.message) < MAX_OUTPUT_CHARS, f"{bug}: {check.name}: {len(check.message)} characters"
                    block = check.message.split(HEADER, 1)[1]
                    found[bug, check.name] = (uploads[bug].source, "\n".join(line[2:] for line in block.splitlines()))
    return found


def test_reproducers_run_after_the_upload(repo_config, tmp_path: Path):
    found = _blocks(repo_config)
    assert {bug for bug, _ in found} == set(BUGS), "every bug must fail some check"
    large = [code for (bug, _), (_, code) in found.items() if bug == "patch_embed__large_images_reversed"]
    assert any("torch.eye(" in code for code in large), "the probes must be shown as code"
    for index, ((bug, name), (source, code)) in enumerate(found.items()):
        assert not PLACEHOLDER.search(code), f"{bug}: {name}: a placeholder in\n{code}"
        script = tmp_path / f"repro{index}.py"
        script.write_text(source + "\n\n" + code + "\n", encoding="utf-8")
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
        if done.returncode != 0:  # only an error of the upload's own code may stop it
            lines = [int(n) for n in re.findall(rf'File "{re.escape(str(script))}", line (\d+)', done.stderr)]
            upload_lines = source.count("\n") + 1
            assert lines and lines[-1] <= upload_lines and "AssertionError" not in done.stderr, f"{bug}: {name}:\n{code}\n{done.stderr[-2000:]}"
