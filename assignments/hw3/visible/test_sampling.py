"""Visible tests for Part 5. The hidden tests also check the kept set against the smallest
prefix reaching p, the tie rule, and the sampling frequencies."""
import torch
from sampling import nucleus_sampling


def test_returns_a_python_int():
    token = nucleus_sampling(torch.randn(10), p=0.9)
    assert type(token) is int, f"type(token)={type(token).__name__}, but should be int"


def test_small_p_is_greedy():
    logits = torch.log(torch.tensor([0.1, 0.6, 0.3]))
    assert all(nucleus_sampling(logits, p=0.5) == 1 for _ in range(20)), "p below the top probability keeps only the argmax"


def test_only_the_nucleus_is_sampled():
    torch.manual_seed(0)
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    seen = {nucleus_sampling(logits, p=0.75) for _ in range(300)}
    assert seen == {0, 1}, f"with p=0.75 only tokens 0 and 1 (0.5 + 0.3 >= 0.75) may appear, but saw {sorted(seen)}"
