"""The Gradescope entry point (build/gradescope/run_autograder), as the container runs it."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import unzip, validate

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", ["bubblewrap", "fallback"])
def test_run_autograder_on_a_laid_out_folder(release_dir, tmp_path, mode):
    """The Gradescope entry point, as the container runs it, on the full hw3 release."""
    root = tmp_path / "autograder"
    unzip(release_dir / "hw3" / "autograder.zip", root / "source")
    (root / "submission").mkdir()
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(Path(os.sys.executable)), "AUTOGRADER_ISOLATION": mode}
    scores = {}
    for label, upload in (("reference", release_dir / "hw3" / "reference" / "my_llm_implementation.py"), ("stub", None)):
        target = root / "submission" / "my_llm_implementation.py"
        if upload is None:
            subprocess.run([os.sys.executable, "export_submission.py"], cwd=release_dir / "hw3" / "student", check=True, capture_output=True)
            upload = release_dir / "hw3" / "student" / "my_llm_implementation.py"
        shutil.copyfile(upload, target)
        done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0
        assert f"isolation: {mode}" in done.stdout, done.stdout + done.stderr
        results = json.loads((root / "results" / "results.json").read_text())
        validate(results)
        scores[label] = results["score"]
    assert scores == {"reference": 25, "stub": 0}
