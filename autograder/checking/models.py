"""Helpers for checks on the submission's torch modules (through ``Remote`` proxies)."""
from __future__ import annotations

from typing import Any, Dict

import torch

from autograder.checking.compare import expect, expect_type
from autograder.checking.strategies import randn


def randomise_parameters(model: Any, seed: int, scale: float = 0.5) -> Dict[str, Any]:
    """Load seeded values into every floating entry of ``model``'s state (buffers of other dtypes
    are kept), so that outputs move visibly with every input; returns the state loaded."""
    state = model.state_dict()
    expect_type(state, [dict], f"{model.name}.state_dict()", f"{model.name}.state_dict()")
    fresh = {}
    for i, (key, value) in enumerate(state.items()):
        floating = isinstance(value, torch.Tensor) and value.is_floating_point()
        fresh[key] = randn(seed + i, *value.shape) * scale if floating else value
    model.load_state_dict(fresh)
    return fresh


def time_first_logits(model: Any, tokens: torch.Tensor, vocab: int, call: str) -> torch.Tensor:
    """``model(tokens)`` for time-first tokens (T, B): finite logits (T, B, vocab), or a failure."""
    logits = model(tokens)
    want = (int(tokens.shape[0]), int(tokens.shape[1]), vocab)
    expect_type(logits, [torch.Tensor], "logits", call)
    expect(
        tuple(logits.shape) == want,
        f"logits.shape={tuple(logits.shape)}, but should be {want} [{call}]",
        "time-first: tokens (T, B) give logits (T, B, vocab_size)",
    )
    finite = logits.is_floating_point() and bool(torch.isfinite(logits).all())
    expect(finite, f"logits hold {logits.dtype} values that are not all finite [{call}]")
    return logits
