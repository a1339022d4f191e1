"""Otter version of hw3 Part 4c, DialogueLoss (what assignments/hw3/hidden/dialogue.py checks).

Otter's exception-based test format: each ``test_case`` gets the submission's ``DialogueLoss``
and checks CASES seeded random padded batches; the oracle is the reference in solutions/, shipped
in the autograder zip as the package ``otter_oracle`` (scripts/otter_benchmark.py).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from otter.test_files import test_case

sys.path.insert(0, os.getcwd())  # the submission folder, where the autograder's files are copied
from otter_oracle.reference import DialogueLoss as ReferenceLoss  # noqa: E402

OK_FORMAT = False
name = "dialogue_loss"
points = 2
CASES = 25  # per test case: 100 checked cases in this file
PAD, START, UNK = 0, 1, 2
CHECKED_CASES = 4 * CASES  # read by scripts/otter_benchmark.py


def case(seed, single=False):
    """logits (B, T, V), input_ids (<START>, real tokens, then <PAD>), inp_mask (B, T) of 0/1."""
    g = torch.Generator().manual_seed(seed)
    t = int(torch.randint(2, 7, (1,), generator=g))
    b = 1 if single else int(torch.randint(1, 5, (1,), generator=g))
    v = int(torch.randint(3, 7, (1,), generator=g))
    lengths = torch.full((b,), 2) if single else torch.randint(2, t + 1, (b,), generator=g)
    mask = (torch.arange(t)[None, :] < lengths[:, None]).long()
    ids = torch.where(mask.bool(), torch.randint(UNK, v, (b, t), generator=g), torch.full((b, t), PAD))
    ids[:, 0] = START
    return torch.randn(b, t, v, generator=g) * 2, ids, mask


def scalar(loss):
    assert isinstance(loss, torch.Tensor), f"the loss is a {type(loss).__name__}, not a tensor"
    assert loss.dim() == 0, f"loss.shape={tuple(loss.shape)}, but should be ()"
    assert loss.is_floating_point(), f"loss.dtype={loss.dtype}"
    return float(loss)


@test_case(points=2 * 1 / 5)
def zero_d(DialogueLoss):
    for seed in range(CASES):
        scalar(DialogueLoss()(*case(seed)))


@test_case(points=2 * 1 / 5)
def one_step_shift(DialogueLoss):
    for seed in range(CASES):
        logits, ids, mask = case(1000 + seed, single=True)
        want = float(F.cross_entropy(logits[0, 0:1].double(), ids[0, 1:2]))
        got = scalar(DialogueLoss()(logits, ids, mask))
        assert math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5), f"seed {seed}: loss={got}, but should be {want}"


@test_case(points=2 * 1 / 5)
def padding_ignored(DialogueLoss):
    for seed in range(CASES):
        logits, ids, mask = case(2000 + seed)
        b, t, v = logits.shape
        free = torch.zeros(b, t, dtype=torch.bool)
        free[:, :-1] = mask[:, 1:] == 0
        free[:, -1] = True
        changed = logits.clone()
        changed[free] = (torch.randn(b, t, v, generator=torch.Generator().manual_seed(seed)) * 3)[free]
        before, after = scalar(DialogueLoss()(logits, ids, mask)), scalar(DialogueLoss()(changed, ids, mask))
        assert math.isclose(after, before, rel_tol=1e-5, abs_tol=1e-5), f"seed {seed}: logits that predict nothing changed the loss"


@test_case(points=2 * 2 / 5)
def differential(DialogueLoss):
    for seed in range(CASES):
        logits, ids, mask = case(3000 + seed)
        with torch.no_grad():
            want = float(ReferenceLoss()(logits.double(), ids, mask))
        got = scalar(DialogueLoss()(logits, ids, mask))
        assert math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5), f"seed {seed}: loss={got}, but the reference gives {want}"
