"""Otter version of hw3 Part 5, nucleus sampling (what assignments/hw3/hidden/sampling.py checks).

Otter's exception-based test format: each ``test_case`` gets the submission's ``nucleus_sampling``
and checks seeded random distributions with as many draws per case as the hidden checks; the
reference in solutions/ (shipped as ``otter_oracle``) must pass the same statistical tests.
"""
import math
import os
import random
import sys

import numpy as np
import torch
from otter.test_files import test_case

sys.path.insert(0, os.getcwd())  # the submission folder, where the autograder's files are copied
from otter_oracle.reference import nucleus_sampling as reference_sampling  # noqa: E402

OK_FORMAT = False
name = "nucleus_sampling"
points = 2
MARGIN = 1e-3  # no cumulative probability this close to p (the tie test aside)
TIE_PROBS = (0.5, 0.25, 0.125, 0.125)
TIE_ORDERS = ((0, 1, 2, 3), (2, 0, 3, 1), (3, 2, 1, 0), (1, 3, 0, 2))
# Cases per test case, 100 in this file, and draws per case (the hidden checks' numbers).
INT_CASES, KEPT_CASES, KEPT_DRAWS, GREEDY_CASES, GREEDY_DRAWS = 20, 30, 300, 20, 30
FREQ_CASES, FREQ_DRAWS, SEEDED_CASES, SEEDED_DRAWS, TIE_CASES, TIE_DRAWS = 10, 1000, 5, 20, 15, 150
CHECKED_CASES = INT_CASES + KEPT_CASES + GREEDY_CASES + FREQ_CASES + SEEDED_CASES + TIE_CASES  # read by scripts/otter_benchmark.py


def case(seed, greedy=False, skewed=False):
    """logits (V,), p, and the nucleus: the smallest prefix of the sorted probabilities reaching p."""
    g = torch.Generator().manual_seed(seed)
    while True:
        v = int(torch.randint(2, 13, (1,), generator=g))
        logits = torch.randn(v, generator=g) * (3.0 if skewed else 2.0)
        probs = torch.softmax(logits, -1)
        ranked = torch.argsort(probs, descending=True).tolist()
        top = float(probs[ranked[0]])
        p = top * float(torch.rand(1, generator=g)) if greedy else 0.05 + 0.95 * float(torch.rand(1, generator=g))
        cumulative = torch.cumsum(probs[ranked].double(), 0)
        if (cumulative - p).abs().min() < MARGIN:
            continue
        k = int((cumulative < p).sum()) + 1
        nucleus = ranked[:k]
        kept = probs[nucleus].double()
        if (kept / kept.sum()).min() > 0.07 or greedy:  # every nucleus token shows up in 300 draws
            return logits, p, nucleus, {t: float(q) for t, q in zip(nucleus, kept / kept.sum())}


def draws(sampler, logits, p, times):
    return [sampler(logits.clone(), p) for _ in range(times)]


def inside(found, nucleus, seed):
    outside = set(found) - set(nucleus)
    assert not outside, f"seed {seed}: drew {sorted(outside)}, outside the nucleus {nucleus}"


@test_case(points=2 * 1 / 7)
def returns_int(nucleus_sampling):
    for seed in range(INT_CASES):
        logits, p, _, _ = case(seed)
        token = nucleus_sampling(logits, p)
        assert type(token) is int and 0 <= token < len(logits), f"seed {seed}: returned {token!r}, not an int in range(V)"


@test_case(points=2 * 2 / 7)
def kept_set(nucleus_sampling):
    for seed in range(KEPT_CASES):
        logits, p, nucleus, _ = case(1000 + seed)
        torch.manual_seed(seed)
        found = draws(nucleus_sampling, logits, p, KEPT_DRAWS)
        inside(found, nucleus, seed)
        assert set(found) == set(nucleus), f"seed {seed}: never drew {sorted(set(nucleus) - set(found))} of the nucleus"


@test_case(points=2 * 1 / 7)
def greedy(nucleus_sampling):
    for seed in range(GREEDY_CASES):
        logits, p, nucleus, _ = case(2000 + seed, greedy=True)
        torch.manual_seed(seed)
        inside(draws(nucleus_sampling, logits, p, GREEDY_DRAWS), nucleus, seed)


@test_case(points=2 * 1 / 7)
def frequencies(nucleus_sampling):
    for seed in range(FREQ_CASES):
        logits, p, nucleus, q = case(3000 + seed, skewed=True)
        torch.manual_seed(seed)
        found = draws(nucleus_sampling, logits, p, FREQ_DRAWS)
        inside(found, nucleus, seed)
        for token, want in q.items():
            share = found.count(token) / FREQ_DRAWS
            sigma = math.sqrt(max(want * (1 - want), 1e-12) / FREQ_DRAWS)
            assert abs(share - want) <= 6 * sigma + 1e-9, f"seed {seed}: token {token} drawn {share:.3f} of the time, expected {want:.3f}"


@test_case(points=2 * 1 / 7)
def torch_generator(nucleus_sampling):
    for seed in range(SEEDED_CASES):
        logits, p, _, _ = case(4000 + seed, skewed=True)
        runs = []
        for other in (1, 2):
            random.seed(other)
            np.random.seed(other)
            torch.manual_seed(seed)
            runs.append(draws(nucleus_sampling, logits, p, SEEDED_DRAWS))
        assert runs[0] == runs[1], f"seed {seed}: torch.manual_seed does not reproduce the draws"


@test_case(points=2 * 1 / 7)
def exact_tie(nucleus_sampling):
    for seed in range(TIE_CASES):
        order = TIE_ORDERS[seed % len(TIE_ORDERS)]
        p = (0.75, 0.5)[seed % 2]
        probs = [TIE_PROBS[i] for i in order]
        logits = torch.tensor([math.log(q) for q in probs], dtype=torch.float32)
        ranked = sorted(range(4), key=lambda t: -probs[t])
        nucleus = ranked[: 2 if p == 0.75 else 1]
        torch.manual_seed(seed)
        found = draws(nucleus_sampling, logits, p, TIE_DRAWS)
        inside(found, nucleus, seed)
        assert set(found) == set(nucleus), f"seed {seed}: never drew {sorted(set(nucleus) - set(found))} of the nucleus"


def _oracle_passes():
    """The reference passes this file's tests (checked when the file is loaded, as in the hidden checks)."""
    logits, p, nucleus, _ = case(0)
    torch.manual_seed(0)
    inside(draws(reference_sampling, logits, p, 50), nucleus, 0)


_oracle_passes()
