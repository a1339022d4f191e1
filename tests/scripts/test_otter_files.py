"""The otter version of three hw3 problems (scripts/otter/tests, for ``benchmark.py --otter``)
loads, names grading.toml's problems with their points, and checks about 300 cases.

Otter itself is not installed here: a stand-in for ``otter.test_files.test_case`` records each
test case, and the oracle package is the reference module, as the benchmark ships it."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch

from autograder import config as config_mod
from autograder.grade.engine import reference_module

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


class _TestCase:
    def __init__(self, points: float = 0.0, **_: object):
        self.points = points

    def __call__(self, func: object) -> "_TestCase":
        self.func = func
        return self


def test_otter_files_load_with_grading_toml_points(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config_mod.load(ROOT / "grading.toml")
    hw3 = cfg.assignment("hw3")
    otter = types.ModuleType("otter")
    otter.test_files = types.SimpleNamespace(test_case=_TestCase)  # type: ignore[attr-defined]
    oracle = types.ModuleType("otter_oracle")
    oracle.reference = reference_module(cfg, hw3)  # type: ignore[attr-defined]
    for name, module in (("otter", otter), ("otter.test_files", otter.test_files), ("otter_oracle", oracle), ("otter_oracle.reference", oracle.reference)):  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the files put their folder on sys.path
    points = {p.id: p.points for p in hw3.problems}
    checked = 0
    for path in sorted((ROOT / "scripts" / "otter" / "tests").glob("*.py")):
        namespace: dict = {}
        with torch.random.fork_rng():  # the nucleus file draws from torch's generator when it loads
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
        cases = [v for v in namespace.values() if isinstance(v, _TestCase)]
        assert namespace["OK_FORMAT"] is False and namespace["name"] == path.stem
        assert namespace["points"] == points[path.stem]
        assert sum(c.points for c in cases) == pytest.approx(points[path.stem])
        checked += namespace["CHECKED_CASES"]
    assert checked == 300
