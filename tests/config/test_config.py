"""grading.toml is validated on load, with errors that name the file, the key and the fix."""
from pathlib import Path

import pytest

from autograder import config as config_mod
from autograder.config import ConfigError
from autograder.grade.engine import load_checks
from helpers import ATTENTION_TOML, ROOT, make_project

pytestmark = pytest.mark.unit


def load(tmp_path: Path, text: str):
    return config_mod.load(make_project(tmp_path, text))


def test_repository_config_loads_with_every_problem_tested(repo_config):
    for assignment in repo_config.assignments:
        checks = load_checks(repo_config, assignment)
        assert set(checks) == {p.id for p in assignment.problems}
        assert all(checks.values())


def test_typo_names_file_key_and_closest_valid_key(tmp_path):
    text = ATTENTION_TOML.format(time_limit=60).replace("points = 4", "pionts = 4")
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    message = str(err.value)
    assert "grading.toml" in message and "'pionts'" in message and "did you mean 'points'" in message


def test_wrong_type_and_bad_visibility_are_explained(tmp_path):
    with pytest.raises(ConfigError, match=r"points='four', but should be a float"):
        load(tmp_path / "a", ATTENTION_TOML.format(time_limit=60).replace("points = 4", 'points = "four"'))
    text = ATTENTION_TOML.format(time_limit=60).replace("max_examples = 10", 'max_examples = 10\nvisibility = "hiden"')
    with pytest.raises(ConfigError, match=r"did you mean 'hidden'"):
        load(tmp_path / "b", text)


def test_missing_source_and_duplicate_ids(tmp_path):
    with pytest.raises(ConfigError, match=r"sources names 'nope.py'"):
        load(tmp_path / "a", ATTENTION_TOML.format(time_limit=60).replace('["attention.py"]', '["nope.py"]'))
    text = ATTENTION_TOML.format(time_limit=60).replace('id = "transformer"', 'id = "attention_head"')
    with pytest.raises(ConfigError, match=r"more than once: attention_head"):
        load(tmp_path / "b", text)


def test_problem_ids_are_checked_against_hidden_tests_both_ways(tmp_path):
    # A problem in grading.toml without hidden checks...
    extra = ATTENTION_TOML.format(time_limit=60) + '\n[[assignments.hw3.problems]]\nid = "ghost"\ntitle = "G"\npoints = 1\nsymbols = ["Ghost"]\n'
    cfg = load(tmp_path / "a", extra)
    with pytest.raises(ConfigError, match=r"no hidden checks \(in hw3/hidden/\*\.py\) for problem\(s\) ghost"):
        load_checks(cfg, cfg.assignment("hw3"))
    # ...and hidden checks for a problem grading.toml does not list.
    cfg = load(tmp_path / "b", ATTENTION_TOML.format(time_limit=60).replace('id = "transformer"', 'id = "transformr"'))
    with pytest.raises(ConfigError, match=r"'transformer'"):
        load_checks(cfg, cfg.assignment("hw3"))


def test_not_toml_at_all(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load(tmp_path, "[assignments.hw3\n")


def test_keys_are_documented():
    text = config_mod.describe_keys()
    for key in ("time_limit", "memory_limit", "visibility", "symbols", "sources", "upload"):
        assert key in text
    assert (ROOT / "grading.toml").read_text().count("[[assignments.") >= 10


def test_the_config_is_found_from_any_folder_inside_the_repository(tmp_path, monkeypatch):
    """Without --config: $AUTOGRADER_CONFIG, else the nearest grading.toml here or above; else an
    error that says how to name one."""
    path = make_project(tmp_path / "repo", ATTENTION_TOML.format(time_limit=60))
    deep = tmp_path / "repo" / "assignments" / "hw3" / "notes"
    deep.mkdir()
    monkeypatch.delenv(config_mod.CONFIG_ENV, raising=False)
    monkeypatch.chdir(deep)
    assert config_mod.find() == path
    assert config_mod.load().root == path.parent
    (elsewhere := tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ConfigError, match=r"no grading.toml in .*elsewhere or any folder above it: .* pass --config PATH/grading.toml, or set AUTOGRADER_CONFIG"):
        config_mod.find()
    monkeypatch.setenv(config_mod.CONFIG_ENV, str(path))
    assert config_mod.load().path == path
    monkeypatch.setenv(config_mod.CONFIG_ENV, str(elsewhere / "grading.toml"))
    with pytest.raises(ConfigError, match=r"elsewhere/grading.toml: not found \(pass --config"):
        config_mod.load()
