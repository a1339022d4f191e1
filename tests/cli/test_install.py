"""The installable package: ``pip install -e .`` gives a console script ``autograder`` that works
from any folder, finding the repository from --config, $AUTOGRADER_CONFIG or the nearest
grading.toml above the current folder. (--config and $AUTOGRADER_CONFIG themselves: tests/config.)"""
import os
import subprocess
import sysconfig
import tomllib
import venv

import pytest

from helpers import ROOT

pytestmark = pytest.mark.e2e


def test_the_console_script_runs_from_any_folder(tmp_path):
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"] == {"autograder": "autograder.cli:run"}
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, system_site_packages=True)
    # The new venv sees this interpreter's packages (setuptools to install with, torch and the rest
    # to run): offline, nothing downloaded.
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    env.pop("AUTOGRADER_CONFIG", None)
    install = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", "-e", str(ROOT)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    script = env_dir / "bin" / "autograder"
    upload = tmp_path / "upload.py"
    upload.write_text("x = 1\n")
    # An assignment the repository does not have: the error lists the ones it has, so the config was found.
    ask = ["grade", str(upload), "--assignment", "nope", "--results", str(tmp_path / "results.json")]

    def run(*args: str, cwd) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)

    found = "grading.toml: no assignment 'nope'; known: hw3, pico-llm, decoding-lab"
    inside = run(*ask, cwd=ROOT / "assignments" / "hw3" / "handout")
    assert inside.returncode == 2 and f"{ROOT}/{found}" in inside.stderr, inside.stderr
    outside = run(*ask, cwd=tmp_path)
    assert outside.returncode == 2 and "pass --config PATH/grading.toml, or set AUTOGRADER_CONFIG" in outside.stderr, outside.stderr
