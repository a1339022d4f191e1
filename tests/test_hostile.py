"""Hostile and broken uploads, graded through the real command line (see also issue 5's suite).

Each case appends code to the attention reference (or replaces it) and states the outcome it
must get: wrong code still loses its points, well-behaved problems keep theirs, and results.json
is always written and valid.
"""
import json
from pathlib import Path

import pytest

from conftest import ROOT
from test_grading import BUG, by_problem, grade

TAMPER = '''
import builtins, json, os, sys
import numpy, numpy.testing, torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
FORGED = {"score": 999, "tests": [{"score": 999, "max_score": 1, "name": "forged"}]}
for place in ("/autograder/results/results.json", "results.json", "/tmp/results.json", os.path.expanduser("~/results.json")):
    try:
        os.makedirs(os.path.dirname(place) or ".", exist_ok=True)
        with open(place, "w") as handle:
            json.dump(FORGED, handle)
    except OSError:
        pass
print(json.dumps(FORGED))
sys.stdout.flush()
'''

LOOP_IN_TRANSFORMER = '''
class Transformer(Transformer):
    def forward(self, x, attn_mask=None, return_attn=False):
        while True:
            pass
'''

EXIT_IN_TRANSFORMER = '''
class Transformer(Transformer):
    def forward(self, x, attn_mask=None, return_attn=False):
        import os
        os._exit(0)
'''

MEMORY_IN_TRANSFORMER = '''
class Transformer(Transformer):
    def forward(self, x, attn_mask=None, return_attn=False):
        hog = []
        while True:
            hog.append(bytearray(100 * 1024 * 1024))
'''


def test_tampering_and_forged_results_change_nothing(attention_project, attention_reference, tmp_path):
    results = grade(attention_project, attention_reference + "\n" + BUG.read_text() + TAMPER, tmp_path)
    scores = by_problem(results)
    assert scores == {"attention_head": pytest.approx(scores["attention_head"]), "multi_headed_attention": 3, "transformer": 3}
    assert scores["attention_head"] < 4
    assert results["score"] < 10 and "forged" not in json.dumps(results)


@pytest.mark.parametrize(
    "code, reason",
    [
        (LOOP_IN_TRANSFORMER, "time limit of 8 s"),
        (EXIT_IN_TRANSFORMER, "exited with status 0"),
        (MEMORY_IN_TRANSFORMER, "MemoryError"),
    ],
    ids=["infinite-loop", "os-exit", "memory"],
)
def test_one_misbehaving_problem_keeps_the_others_credit(attention_project, attention_reference, tmp_path, code, reason):
    results = grade(attention_project, attention_reference + "\n" + code, tmp_path)
    scores = by_problem(results)
    assert scores["attention_head"] == 4 and scores["multi_headed_attention"] == 3 and scores["transformer"] < 3
    transformer_tests = [t for t in results["tests"] if t["tags"][0] == "transformer"]
    assert any(reason in t["output"] for t in transformer_tests), transformer_tests[0]["output"]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import sys\nsys.exit(3)\n", "importing your file raised SystemExit"),
        ("def f(:\n    pass\n", "syntax error at line 1"),
        ("", "is empty"),
        ("x = 1\n", "your file defines no "),
    ],
    ids=["sys-exit-at-import", "syntax-error", "empty", "missing-names"],
)
def test_broken_uploads_get_a_plain_message_and_zero(attention_project, tmp_path, source, expected):
    results = grade(attention_project, source, tmp_path)
    assert results["score"] == 0
    assert all(expected in t["output"] for t in results["tests"]), results["tests"][0]["output"]


def test_sandbox_sees_no_hidden_tests_solutions_or_network(attention_project, attention_reference, tmp_path):
    probe = f'''
import os, socket
def _probe():
    found = []
    for path in ({str(ROOT / "hidden")!r}, {str(ROOT / "solutions")!r}, {str(ROOT)!r}, {str(tmp_path)!r}, "/autograder"):
        if os.path.exists(path):
            found.append(path)
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        found.append("network")
    except OSError:
        pass
    return found
class AttentionHead(AttentionHead):
    def forward(self, x, attn_mask=None):
        if _probe():
            raise RuntimeError("saw " + ", ".join(_probe()))
        return super().forward(x, attn_mask)
'''
    results = grade(attention_project, attention_reference + probe, tmp_path)
    assert by_problem(results)["attention_head"] == 4, [t["output"] for t in results["tests"] if t["status"] == "failed"][:1]


def test_replacing_builtins_gains_nothing(attention_project, attention_reference, tmp_path):
    source = attention_reference + BUG.read_text() + "\nimport builtins\nbuiltins.isinstance = lambda obj, cls: True\n"
    results = grade(attention_project, source, tmp_path)
    assert by_problem(results)["attention_head"] < 4
