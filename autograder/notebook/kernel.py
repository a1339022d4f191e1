"""What a test cell's hidden part calls in the notebook's kernel: this problem's score, from the grader.

The notebook on disk (the file the build named; under ``nbgrader autograde`` the sanitized copy
whose locked cells nbgrader restored) is graded once per distinct code by ``score`` in a
subprocess: the same checks, sandbox and scores as a Gradescope upload of that notebook or of the
file its export cell writes. Later test cells reuse the result (kept in this module, keyed by the
hash of the code ``uploads.notebook`` takes from the notebook). The cell prints the failed checks' messages
to stdout (nbgrader scores a cell that writes to stderr as 0) and ends with the score, which
nbgrader reads as partial credit.

Imported from ``grader/`` next to the course's ``nbgrader_config.py``; standard library only here
(and in ``autograder.uploads``), so nothing of the grader runs in the kernel, which also runs the
student's code.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict

from autograder.uploads.notebook import NotebookUnreadable, code_of, find_notebook, parse

_GRADED: Dict[str, Dict[str, Any]] = {}  # code hash -> the grader's answer


def grader_dir() -> Path:
    """``grader/``: this file is ``grader/autograder/notebook/kernel.py``."""
    return Path(__file__).resolve().parents[2]


def _grade(root: Path, assignment: str, name: str, data: bytes, timeout: float) -> Dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="notebook-grade-"))
    try:
        (folder / name).write_bytes(data)
        out = folder / "scores.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root)] + [p for p in [os.environ.get("PYTHONPATH", "")] if p])}
        command = [sys.executable, "-m", "autograder.notebook.score", str(folder / name), "--config", str(root / "grading.toml"),
                   "--assignment", assignment, "--out", str(out)]
        try:
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the grader did not finish within {timeout:g} s") from None
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"the grader failed (exit status {done.returncode}):\n{(done.stderr or done.stdout)[-3000:]}")
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def problem_score(problem: str, timeout: float = 900.0) -> float:
    """This problem's score for the saved notebook, with its failed checks' messages printed."""
    root = grader_dir()
    assignment = (root / "ASSIGNMENT").read_text(encoding="utf-8").strip()
    path = find_notebook(f"{assignment}.ipynb")
    data = path.read_bytes()
    try:
        key = hashlib.sha256(code_of(parse(data, path.name), path.name).text.encode("utf-8")).hexdigest()
    except NotebookUnreadable:  # not a notebook: the grader says so, once per distinct file
        key = hashlib.sha256(data).hexdigest()
    fresh = key not in _GRADED
    if fresh:
        _GRADED[key] = _grade(root, assignment, path.name, data, timeout)
    graded = _GRADED[key]
    score, points = float(graded["scores"][problem]), float(graded["points"][problem])
    for note in graded["notes"] if fresh else []:  # said once, in the cell that graded
        print(f"Note: {note}")
    for test in graded["tests"]:
        if problem in test["tags"]:
            print(f"{test['name']}: {test['status']} ({test['score']:g}/{test['max_score']:g})")
            if test["status"] != "passed":
                print("  " + test["output"].replace("\n", "\n  "))
    print(f"score: {score:g} / {points:g}")
    return min(max(score, 0.0), points)
