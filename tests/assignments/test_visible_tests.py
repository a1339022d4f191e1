"""The visible tests show every mistake of the spec that a small known answer can show.

Each corpus bug of hw3 and pico-llm is one such mistake, except those listed in NOT_IN_THE_SPEC
(mistakes the hidden tests catch but the spec does not list, or that need many draws, a long
sequence or training to show). The student's files are the reference with the bug appended, loaded
as one module under every source file's name, as the merged upload is; then every visible test
function runs. The reference must pass them all; each bug must fail at least one.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Dict, List

import pytest

from autograder import config as config_mod
from autograder.grade.engine import reference_source
from helpers import ROOT

pytestmark = pytest.mark.e2e

CONFIG = config_mod.load(ROOT / "grading.toml")
NOT_IN_THE_SPEC = {
    "hw3": {
        "dialogue_gpt__returns_no_alphas",
        "nucleus_sampling__one_token_too_many",
        "nucleus_sampling__python_random",
        "nucleus_sampling__softmax_of_kept_probs",
        "nucleus_sampling__uniform_within_nucleus",
        "nucleus_sampling__unnormalised_exp",
    },
    "pico-llm": {
        "kgram_mlp__layers_in_python_list",
        "kgram_mlp__shared_inner_layers",
        "transformer_model__block_size_32",
        "transformer_model__blocks_in_python_list",
        "transformer_model__layernorm",
    },
}


def _failures(assignment_id: str, extra: str) -> List[str]:
    """The visible test functions that fail on the reference plus ``extra``."""
    assignment = CONFIG.assignment(assignment_id)
    merged = types.ModuleType("student_upload")
    exec(compile(reference_source(CONFIG, assignment) + "\n" + extra, "student_upload", "exec"), merged.__dict__)
    saved: Dict[str, object] = {}
    stems = [Path(name).stem for name in assignment.sources]
    for stem in stems:  # `from attention import ...` in a visible test finds the merged upload
        saved[stem] = sys.modules.get(stem)
        sys.modules[stem] = merged
    failed = []
    try:
        for path in sorted((ROOT / "assignments" / assignment_id / "visible").glob("test_*.py")):
            spec = importlib.util.spec_from_file_location(f"visible_{assignment_id.replace('-', '_')}_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for name in sorted(n for n in dir(module) if n.startswith("test_")):
                try:
                    getattr(module, name)()
                except Exception:  # noqa: BLE001 - any failure of a visible test is the verdict
                    failed.append(f"{path.name}::{name}")
    finally:
        for stem, module in saved.items():
            if module is None:
                sys.modules.pop(stem, None)
            else:
                sys.modules[stem] = module
    return failed


CASES = [
    (a, bug)
    for a in ("hw3", "pico-llm")
    for bug in sorted((ROOT / "assignments" / a / "corpus" / "bugs").glob("*.py"))
    if bug.stem not in NOT_IN_THE_SPEC[a]
]


@pytest.mark.parametrize("assignment_id", ["hw3", "pico-llm"])
def test_the_reference_passes_every_visible_test(assignment_id):
    assert _failures(assignment_id, "") == []


@pytest.mark.parametrize("assignment_id,bug", CASES, ids=[f"{a}/{b.stem}" for a, b in CASES])
def test_a_mistake_of_the_spec_fails_a_visible_test(assignment_id, bug):
    assert _failures(assignment_id, bug.read_text(encoding="utf-8")), f"{bug.name}: every visible test passes"


def test_the_exceptions_are_corpus_bugs():
    for assignment_id, names in NOT_IN_THE_SPEC.items():
        present = {p.stem for p in (ROOT / "assignments" / assignment_id / "corpus" / "bugs").glob("*.py")}
        assert names <= present, sorted(names - present)
