"""Shared fixtures (the repository's config, a narrowed project for fast engine tests, one build)
and the tier check: every test carries exactly one tier marker (see TIERS)."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder import config as config_mod
from autograder.grade.engine import reference_source

# Re-exported: tests written before helpers.py import these from conftest.
from helpers import ATTENTION_TOML, ROOT, make_project, narrowed_toml, python, run_cli, unzip  # noqa: F401

# The tiers, registered in pyproject.toml ([tool.pytest.ini_options] markers); run one with -m.
TIERS = ("unit", "e2e", "redteam", "notebook")


@pytest.hookimpl(tryfirst=True)  # before -m deselects: a test without a tier must not vanish silently
def pytest_collection_modifyitems(config, items):
    wrong = []
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if len(tiers) != 1:
            wrong.append(f"  {item.nodeid}: {', '.join(tiers) or 'no tier'}")
    if wrong:
        raise pytest.UsageError(
            "every test needs exactly one tier marker of " + ", ".join(TIERS) + ", but these have "
            "none or several (add `pytestmark = pytest.mark.unit` (or e2e, redteam, notebook) at the top of the module, "
            "or one @pytest.mark.<tier> per test in a module of mixed tiers; see 'Tests' in README.md):\n" + "\n".join(wrong)
        )


@pytest.fixture(scope="session")
def repo_config():
    return config_mod.load(ROOT / "grading.toml")


@pytest.fixture(scope="session")
def attention_project(tmp_path_factory):
    """Attention problems only, with a short time limit: for engine and hostile-upload tests."""
    path = make_project(tmp_path_factory.mktemp("attention"), ATTENTION_TOML.format(time_limit=60))
    cfg = config_mod.load(path)
    return cfg, cfg.assignment("hw3")


@pytest.fixture(scope="session")
def attention_reference(attention_project) -> str:
    cfg, assignment = attention_project
    return reference_source(cfg, assignment)


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory) -> Path:
    """One real build of every assignment, shared by the tests that inspect releases."""
    out = tmp_path_factory.mktemp("release")
    done = run_cli("build", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return out
