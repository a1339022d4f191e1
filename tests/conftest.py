"""Shared fixtures: the repository's config, a narrowed project for fast engine tests, one build."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import config as config_mod  # noqa: E402
from autograder.grade.engine import reference_source  # noqa: E402

def narrowed_toml(problems: list, sources: list, hidden: list | None = None, **defaults) -> str:
    """A grading.toml with some of hw3's problems, copied from the repository's own tables (so the
    tests grade the real points and symbols), and ``defaults`` of the test's choosing."""
    real = {p["id"]: p for p in tomllib.loads((ROOT / "grading.toml").read_text())["assignments"]["hw3"]["problems"]}
    lines = ["[defaults]"] + [f"{key} = {value}" for key, value in defaults.items()]
    lines += ["", "[assignments.hw3]", 'title = "Narrowed hw3"', 'upload = "my_llm_implementation.py"', f"sources = {json.dumps(sources)}"]
    if hidden:
        lines.append(f"hidden = {json.dumps(hidden)}")
    for problem_id in problems:
        table = real[problem_id]
        lines += ["", "[[assignments.hw3.problems]]"] + [f"{key} = {json.dumps(table[key])}" for key in ("id", "title", "points", "symbols")]
    return "\n".join(lines) + "\n"


# `{time_limit}` is left for str.format: tests pick the limit.
ATTENTION_TOML = narrowed_toml(
    ["attention_head", "multi_headed_attention", "transformer"], ["attention.py"], time_limit="{time_limit}", memory_limit=2048, max_examples=10
)


def python() -> str:
    return sys.executable


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([python(), "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)


def make_project(tmp: Path, toml: str, hidden: tuple = ("attention.py",)) -> Path:
    """A project folder with its own grading.toml, the repository's solutions, and the named
    hidden-test files of hw3 (the attention problems by default)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "grading.toml").write_text(toml, encoding="utf-8")
    for shared in ("solutions", "requirements"):
        if not (tmp / shared).exists():
            (tmp / shared).symlink_to(ROOT / shared)
    # assignments/hw3/ as in the repository, but hidden/ holds only the named files.
    hw3 = tmp / "assignments" / "hw3"
    (hw3 / "hidden").mkdir(parents=True, exist_ok=True)
    for entry in (ROOT / "assignments" / "hw3").iterdir():
        if entry.name != "hidden" and not (hw3 / entry.name).exists():
            (hw3 / entry.name).symlink_to(entry)
    for name in hidden:
        if not (hw3 / "hidden" / name).exists():
            (hw3 / "hidden" / name).symlink_to(ROOT / "assignments" / "hw3" / "hidden" / name)
    return tmp / "grading.toml"


@pytest.fixture(scope="session")
def repo_config():
    return config_mod.load(ROOT / "grading.toml")


@pytest.fixture(scope="session")
def attention_project(tmp_path_factory):
    """Attention problems only, with a short time limit: for engine and hostile-upload tests."""
    path = make_project(tmp_path_factory.mktemp("attention"), ATTENTION_TOML.format(time_limit=8))
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


def unzip(zip_path: Path, target: Path) -> Path:
    shutil.unpack_archive(str(zip_path), str(target), "zip")
    return target
