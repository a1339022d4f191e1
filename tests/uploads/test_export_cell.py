"""The notebook's export cell (``autograder/uploads/export_cell.py``) writes code from cell
metadata and the notebook's file name: through ``python -m autograder grade`` on a notebook whose
``grade_id`` and name try to break out of the comment and docstring they are written into."""
import json

import pytest

from helpers import ATTENTION_TOML, make_project, run_cli

pytestmark = pytest.mark.e2e


def test_a_grade_id_with_a_newline_stays_in_its_comment(tmp_path):
    """Cell metadata and the notebook's file name are echoed into the code the notebook exports:
    a newline or triple quote in them must not become code (here it would be a syntax error)."""
    cfg = make_project(tmp_path / "project", ATTENTION_TOML.format(time_limit=60))
    cell = {
        "cell_type": "code", "execution_count": None, "id": "a", "outputs": [], "source": ["VALUE = 1\n"],
        "metadata": {"nbgrader": {"grade": False, "grade_id": "answer\n)\x1b[2J", "locked": False, "schema_version": 3, "solution": True, "task": False}},
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / 'hw"""\n).ipynb').write_text(json.dumps(notebook))
    out = tmp_path / "results.json"
    done = run_cli("--config", str(cfg), "grade", str(folder), "--assignment", "hw3", "--results", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    text = results["output"] + "".join(t["output"] for t in results["tests"])
    assert "syntax error" not in text and "your file defines no AttentionHead" in text  # it was parsed and run
    assert "\x1b" not in json.dumps(results, ensure_ascii=False)
