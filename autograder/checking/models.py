"""Helpers for checks on the submission's torch modules (through ``Remote`` proxies)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch

from autograder.checking.compare import expect, expect_type, fail
from autograder.checking.strategies import randn

# The reproducer's line for ``randomise_parameters``: the same values, drawn the same way.
RANDOMISE_TEXT = (
    "with torch.no_grad():\n"
    "    for i, p in enumerate({model}.parameters()):\n"
    "        p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed({seed} + i)) * {scale})"
)


def randomise_parameters(model: Any, seed: int, scale: float = 0.5) -> Dict[str, torch.Tensor]:
    """Load seeded values into every parameter of ``model`` (buffers, such as a causal mask kept
    with ``register_buffer``, are left alone), so that outputs move visibly with every input;
    returns the values loaded, by parameter name."""
    params = model.parameters(shapes_only=True)
    fresh = {name: randn(seed + i, *value.shape) * scale for i, (name, value) in enumerate(params.items())}
    loaded = model.load_state_dict(fresh, strict=False, shown=RANDOMISE_TEXT.format(model=model.name, seed=seed, scale=scale))
    unexpected = list(loaded[1]) if isinstance(loaded, (tuple, list)) and len(loaded) == 2 and isinstance(loaded[1], list) else []
    if unexpected:
        fail(
            f"{model.name}.load_state_dict(...) does not know the parameters {unexpected[:4]} that {model.name}.named_parameters() "
            f"lists, but should: state_dict() and named_parameters() name the same parameters [{model.name}.load_state_dict(...)]"
        )
    return fresh


def parameter_count(model: Any) -> int:
    """How many numbers the module learns: its distinct parameters (a module used twice counts once)."""
    params = model.parameters(shapes_only=True)
    return sum(int(value.numel()) for value in params.values())


def gain(model: Any, dim: int, params: Optional[Dict[str, torch.Tensor]] = None) -> Tuple[str, str]:
    """The name of a norm's learnable gain, a parameter of shape (dim,), whatever it is called, and
    a note for messages when that was a guess among several such parameters ('' otherwise).
    ``params``: the module's parameters, if already at hand."""
    params = params if params is not None else model.parameters(shapes_only=True)
    found = [name for name, value in params.items() if tuple(value.shape) == (dim,)]
    expect(bool(found), f"{model.name} has parameters {_shapes(params)}, but should have a learnable gain of shape ({dim},) (nn.Parameter(torch.ones({dim}))) [{model.name}.named_parameters()]")
    if len(found) == 1:
        return found[0], ""
    usual = [name for name in found if name.split(".")[-1] in ("weight", "scale", "gain", "g", "gamma")]
    chosen = (usual or found)[0]
    return chosen, f" (of the parameters {found} of shape ({dim},), {chosen!r} was taken as the gain)"


def _shapes(params: Dict[str, torch.Tensor]) -> str:
    return "{" + ", ".join(f"{name!r}: {tuple(value.shape)}" for name, value in params.items()) + "}"


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
