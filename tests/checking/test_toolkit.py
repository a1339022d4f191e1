"""The hidden-test toolkit's own rules: NaN matches NaN, per-check points sum exactly to a
problem's points, reproducers are code that rebuilds the values, and NLTK's missing-data dump
becomes one plain sentence."""
from __future__ import annotations

from typing import Any, Dict

import pytest
import torch
from hypothesis import strategies as st

from autograder.checking.compare import CheckFailed, expect_equal, expect_tensor
from autograder.checking.registry import Context
from autograder.checking.strategies import randint, randn
from autograder.checking.student import NLTK_DATA_MISSING, Student, SubmissionError, describe_value
from autograder.grade.outcome import check_points

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("points, weights", [(2, [1] * 7), (25, [1] * 7), (5, [1, 2, 2, 2, 1, 1]), (3, [1, 3, 1, 1]), (4, [1, 3, 2, 1, 1])])
def test_check_points_sum_exactly_to_the_problem_points(points, weights):
    shares = check_points(points, weights)
    assert round(sum(round(s, 4) for s in shares), 4) == points
    assert all(abs(s - points * w / sum(weights)) <= 1e-4 for s, w in zip(shares, weights))


def test_expected_nan_matches_nan_and_only_nan():
    expected = torch.tensor([1.0, float("nan")])
    expect_tensor(torch.tensor([1.0, float("nan")]), expected, "out", "f(x)")
    expect_equal(float("nan"), float("nan"), "out", "f(x)")
    with pytest.raises(CheckFailed, match="should be nan"):
        expect_tensor(torch.tensor([1.0, 2.0]), expected, "out", "f(x)")
    with pytest.raises(CheckFailed, match="NaN where a number is expected"):
        expect_tensor(torch.tensor([float("nan"), float("nan")]), expected, "out", "f(x)")


@pytest.mark.parametrize(
    "value",
    [
        torch.randn(3, 4, generator=torch.Generator().manual_seed(0)) * 1e-3,
        torch.tensor([1.0, float("nan"), -float("inf")]),
        torch.arange(300).reshape(100, 3),
        torch.tensor([1, 2], dtype=torch.int32),
        torch.randn(4, generator=torch.Generator().manual_seed(1)).to(torch.bfloat16),
        randn(7, 40, 30),
        randint(3, 5, (64, 3)),
    ],
)
def test_reproducer_text_rebuilds_the_value(value):
    rebuilt = eval(describe_value(value), {"torch": torch})  # noqa: S307 - the grader's own text
    assert rebuilt.dtype == value.dtype and rebuilt.shape == value.shape
    assert torch.equal(torch.nan_to_num(rebuilt.float()), torch.nan_to_num(value.float()))
    if value.is_floating_point():
        assert torch.equal(rebuilt.isnan(), value.isnan())


def test_reproducer_text_of_a_state_dict_is_code():
    state = {"weight": torch.ones(2), "bias": randn(2, 3)}
    rebuilt = eval(describe_value(state), {"torch": torch})  # noqa: S307
    assert set(rebuilt) == {"weight", "bias"} and torch.equal(rebuilt["bias"], state["bias"])


class _Session:
    def __init__(self, answer: Dict[str, Any]):
        self.answer = answer

    def request(self, message: Dict[str, Any], callback: Any) -> Dict[str, Any]:
        return self.answer


def test_missing_punkt_data_is_one_plain_message():
    dump = "\n**********\n  Resource punkt_tab not found.\n  Please use the NLTK Downloader...\n**********\n"
    student = Student(_Session({"error": {"type": "LookupError", "message": dump, "traceback": "Traceback ...\n" + dump}}))
    with pytest.raises(SubmissionError) as raised:
        student.call("MyTokenizer", "a b")
    assert raised.value.message == NLTK_DATA_MISSING and raised.value.trace == ""
    assert "preserve_line=True" in NLTK_DATA_MISSING


def test_chosen_examples_run_first_in_order_each_with_a_fresh_reproducer():
    class Recorder:
        def __init__(self):
            self.log = ["left over"]
            self.seen = []

        def begin_example(self):
            self.log = []

    student = Recorder()
    ctx = Context(student, None, max_examples=3)

    def body(example):
        assert student.log == [], "each example starts a fresh reproducer"
        student.log.append(f"call({example})")
        student.seen.append(example)

    ctx.forall(st.integers(10, 20), body, examples=[1, 2])
    assert student.seen[:2] == [1, 2] and all(10 <= x <= 20 for x in student.seen[2:]) and len(student.seen) > 2

    def fails_on_8(example):
        if example == 8:
            raise ValueError("the chosen example 8 fails")

    with pytest.raises(ValueError, match="chosen example 8"):  # a chosen example's failure is the verdict
        ctx.forall(st.integers(10, 20), fails_on_8, examples=[7, 8])
