"""What several test modules share: the repository's paths, narrowed projects, the command line,
and the checks every results.json must pass. Import it as ``from helpers import ...`` (``tests/``
is on the import path, see ``pythonpath`` in pyproject.toml); fixtures live in conftest.py."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

from autograder.sandbox import Isolation, SandboxError, choose_isolation

ROOT = Path(__file__).resolve().parent.parent
# Gradescope's results.json schema, kept in the repository: a missing copy fails every test that validates.
SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "results.schema.json").read_text())
BUG = ROOT / "assignments" / "hw3" / "corpus" / "bugs" / "attention_head__mask_after_softmax.py"


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


def unzip(zip_path: Path, target: Path) -> Path:
    shutil.unpack_archive(str(zip_path), str(target), "zip")
    return target


def isolation_or_skip(mode: str) -> Isolation:
    """The isolation ``mode``, or a skip when this machine lacks what it needs: only bubblewrap can
    be missing (no ``bwrap``, or user namespaces refused, as in Docker's default profile); the
    fallback works everywhere, so it never skips."""
    try:
        return choose_isolation(mode)
    except SandboxError as exc:
        pytest.skip(f"{mode} does not work on this machine: {exc}")


def validate(results: dict) -> None:
    """What every results.json must be: valid against Gradescope's schema, bounded, each test tagged."""
    jsonschema.validate(results, SCHEMA)
    assert len(json.dumps(results)) < 1_000_000
    for test in results["tests"]:
        assert test["tags"] and len(test["output"]) <= 4000


def by_problem(results: dict) -> dict:
    """Points per problem id, summed over the problem's checks."""
    scores: dict = {}
    for test in results["tests"]:
        scores[test["tags"][0]] = round(scores.get(test["tags"][0], 0) + test["score"], 4)
    return scores
