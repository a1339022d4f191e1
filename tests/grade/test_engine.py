"""The time budget of a whole submission (``submission_time_limit``), through
``python -m autograder grade`` and ``python -m autograder keys``."""
import json

import jsonschema
import pytest

from autograder import config as config_mod
from autograder.config import ConfigError
from helpers import ATTENTION_TOML, ROOT, make_project, narrowed_toml, run_cli

pytestmark = pytest.mark.e2e

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "results.schema.json").read_text())

HANG_AT_IMPORT = "\nwhile True:\n    pass\n"


def test_a_submission_that_is_slow_at_every_import_is_stopped_by_the_budget(tmp_path, attention_reference):
    """Each problem alone may take 60 s; the whole submission only 20 s: the first problem's limit is
    cut to what is left of the budget, and the others are not graded at all."""
    toml = narrowed_toml(
        ["attention_head", "multi_headed_attention", "transformer"], ["attention.py"], time_limit=60, max_examples=10, submission_time_limit=20
    )
    cfg = make_project(tmp_path / "project", toml)
    upload = tmp_path / "my_llm_implementation.py"
    upload.write_text(attention_reference + HANG_AT_IMPORT)
    out = tmp_path / "results.json"
    done = run_cli("--config", str(cfg), "grade", str(upload), "--assignment", "hw3", "--results", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0
    outputs = {}
    for test in results["tests"]:
        outputs.setdefault(test["tags"][0], []).append(test["output"])
    assert all(o.startswith("not graded to the end: the time budget for the whole submission (20 s") for o in outputs["attention_head"])
    assert all("its time limit was cut to the" in o and "the time limit of" in o for o in outputs["attention_head"])
    for problem in ("multi_headed_attention", "transformer"):
        assert all(o.startswith("not graded: the time budget for the whole submission ran out (20 s") for o in outputs[problem]), problem
    assert "Note: the time budget for the whole submission (20 s) ran out" in results["output"]


def test_the_budget_key_is_documented_and_checked(tmp_path):
    keys = run_cli("keys")
    assert keys.returncode == 0 and "submission_time_limit: seconds of wall-clock time for grading one whole submission" in keys.stdout
    assert config_mod.load(make_project(tmp_path / "c", ATTENTION_TOML.format(time_limit=60))).assignment("hw3").time_budget == 300
    zero = ATTENTION_TOML.format(time_limit=60).replace("[defaults]", "[defaults]\nsubmission_time_limit = 0")
    with pytest.raises(ConfigError, match=r"\[defaults\]\.submission_time_limit=0, but should be greater than 0"):
        config_mod.load(make_project(tmp_path / "a", zero))
    per_problem = ATTENTION_TOML.format(time_limit=60).replace('id = "transformer"', 'id = "transformer"\nsubmission_time_limit = 5')
    with pytest.raises(ConfigError, match=r"unknown key 'submission_time_limit'"):
        config_mod.load(make_project(tmp_path / "b", per_problem))
    per_assignment = ATTENTION_TOML.format(time_limit=60).replace('title = "Narrowed hw3"', 'title = "Narrowed hw3"\nsubmission_time_limit = 42')
    assert config_mod.load(make_project(tmp_path / "d", per_assignment)).assignment("hw3").time_budget == 42
