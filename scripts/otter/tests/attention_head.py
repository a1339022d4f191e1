"""Otter version of hw3 Part 2a, AttentionHead (what assignments/hw3/hidden/attention.py checks).

Otter's exception-based test format: each ``test_case`` gets the submission's ``AttentionHead``
and checks CASES seeded random cases; the oracle is the reference in solutions/, which the
benchmark ships in the autograder zip as the package ``otter_oracle`` (scripts/otter_benchmark.py).
"""
import math
import os
import sys

import torch
from otter.test_files import test_case

sys.path.insert(0, os.getcwd())  # the submission folder, where the autograder's files are copied
from otter_oracle.reference import AttentionHead as ReferenceHead  # noqa: E402

OK_FORMAT = False
name = "attention_head"
points = 4
CASES = 25  # per test case: 100 checked cases in this file
CHECKED_CASES = 4 * CASES  # read by scripts/otter_benchmark.py


def case(seed, need_mask=False):
    """x (B, T, dim), a 0/1 mask (None, (T, T) causal, or (B, T, T) random with the diagonal kept), n_hidden."""
    g = torch.Generator().manual_seed(seed)
    b, t, dim, n_hidden = (int(torch.randint(lo, hi + 1, (1,), generator=g)) for lo, hi in ((1, 3), (1, 6), (1, 6), (1, 5)))
    x = torch.randn(b, t, dim, generator=g)
    kind = int(torch.randint(1 if need_mask else 0, 3, (1,), generator=g))
    if kind == 0:
        mask = None
    elif kind == 1:
        mask = torch.tril(torch.ones(t, t))
    else:
        mask = (torch.rand(b, t, t, generator=g) < 0.6).float()
        mask = torch.maximum(mask, torch.eye(t).expand(b, t, t))
    return x, mask, n_hidden


def close(got, want, what):
    assert isinstance(got, torch.Tensor), f"{what} is a {type(got).__name__}, not a tensor"
    assert got.shape == want.shape, f"{what}.shape={tuple(got.shape)}, but should be {tuple(want.shape)}"
    assert torch.allclose(got.to(torch.float32), want.to(torch.float32), atol=1e-5, rtol=1e-4), f"{what} differs from the reference"


@test_case(points=4 * 1 / 6)
def shapes(AttentionHead):
    for seed in range(CASES):
        x, mask, n_hidden = case(seed)
        b, t, dim = x.shape
        out, alpha = AttentionHead(dim, n_hidden)(x, mask)
        assert tuple(out.shape) == (b, t, n_hidden), f"seed {seed}: out.shape={tuple(out.shape)}"
        assert tuple(alpha.shape) == (b, t, t), f"seed {seed}: alpha.shape={tuple(alpha.shape)}"


@test_case(points=4 * 2 / 6)
def invariants(AttentionHead):
    for seed in range(CASES):
        x, mask, n_hidden = case(1000 + seed, need_mask=True)
        _, alpha = AttentionHead(x.shape[2], n_hidden)(x, mask)
        full = mask.expand(alpha.shape)
        assert (alpha[full == 0] == 0).all(), f"seed {seed}: a masked weight is not exactly 0"
        assert torch.allclose(alpha.sum(-1), torch.ones(alpha.shape[:-1]), atol=1e-4), f"seed {seed}: rows of alpha do not sum to 1"


@test_case(points=4 * 2 / 6)
def differential(AttentionHead):
    for seed in range(CASES):
        x, mask, n_hidden = case(2000 + seed)
        torch.manual_seed(seed)
        reference = ReferenceHead(x.shape[2], n_hidden)
        head = AttentionHead(x.shape[2], n_hidden)
        head.load_state_dict(reference.state_dict())
        with torch.no_grad():
            want_out, want_alpha = reference(x, mask)
            out, alpha = head(x, mask)
        close(alpha, want_alpha, f"seed {seed}: alpha")
        close(out, want_out, f"seed {seed}: out")


@test_case(points=4 * 1 / 6)
def known_answer(AttentionHead):
    for seed in range(CASES):
        x, mask, n_hidden = case(3000 + seed, need_mask=True)
        b, t, dim = x.shape
        head = AttentionHead(dim, n_hidden)
        g = torch.Generator().manual_seed(seed)
        values = {k: torch.zeros_like(v) for k, v in head.state_dict().items()}
        values["W_V.weight"] = torch.randn(n_hidden, dim, generator=g)
        values["W_V.bias"] = torch.randn(n_hidden, generator=g)
        head.load_state_dict(values)
        full = mask.expand(b, t, t)
        want_alpha = full / full.sum(-1, keepdim=True)
        want_out = want_alpha @ (x @ values["W_V.weight"].T + values["W_V.bias"])
        with torch.no_grad():
            out, alpha = head(x, mask)
        close(alpha, want_alpha, f"seed {seed}: alpha with W_Q = W_K = 0")
        close(out, want_out, f"seed {seed}: out with W_Q = W_K = 0")
        assert math.isfinite(float(out.sum()))
