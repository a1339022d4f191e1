"""Shared hypothesis strategies: named composites with bounded sizes.

Tensors are not drawn element by element (slow to generate and to shrink): a strategy draws the
sizes and a seed, and the tensor is made from a seeded generator. Shrinking then makes the
sizes small and the seed 0, which gives short reproducers.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
from hypothesis import strategies as st

MAX_SEED = 2**16

# Code that rebuilds a tensor the grader made, by id, for reproducers (see ``named``).
_SOURCES: Dict[int, Tuple["weakref.ref[torch.Tensor]", str]] = {}


def named(tensor: torch.Tensor, text: str) -> torch.Tensor:
    """Remember ``text``, code a student can paste that rebuilds ``tensor`` exactly (a seeded
    constructor), so that a reproducer shows it instead of the tensor's values."""
    if len(_SOURCES) > 10_000:  # forget tensors that no longer exist
        for key in [k for k, (ref, _) in _SOURCES.items() if ref() is None]:
            del _SOURCES[key]
    _SOURCES[id(tensor)] = (weakref.ref(tensor), text)
    return tensor


def source_of(tensor: torch.Tensor) -> Optional[str]:
    """The code given to ``named`` for this very tensor, if any."""
    entry = _SOURCES.get(id(tensor))
    return entry[1] if entry is not None and entry[0]() is tensor else None


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def generator_text(seed: int) -> str:
    return f"generator=torch.Generator().manual_seed({seed})"


def randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    """Standard normal values of ``shape`` from a seeded generator, times ``scale``; named, so that
    a reproducer shows the constructor (the product is computed the same way when pasted)."""
    text = f"torch.randn({tuple(shape)}, {generator_text(seed)})"
    if scale == 1.0:
        return named(torch.randn(*shape, generator=seeded(seed)), text)
    return named(torch.randn(*shape, generator=seeded(seed)) * scale, f"{text} * {scale!r}")


def randint(seed: int, high: int, shape: Tuple[int, ...]) -> torch.Tensor:
    """Token ids in range(high) of ``shape`` (int64), from a seeded generator."""
    return named(torch.randint(0, high, shape, generator=seeded(seed)), f"torch.randint(0, {high}, {tuple(shape)}, {generator_text(seed)})")


@st.composite
def masks(draw: st.DrawFn, batch: int, length: int) -> Optional[torch.Tensor]:
    """None, a (T, T) or a (B, T, T) 0/1 mask; each row allows at least its own position.

    A row that allows nothing is undefined behaviour (the spec), so the diagonal is always 1.
    """
    kind = draw(st.sampled_from(["none", "shared", "batched", "causal"]))
    if kind == "none":
        return None
    if kind == "causal":
        return torch.tril(torch.ones(length, length, dtype=torch.long))
    shape = (length, length) if kind == "shared" else (batch, length, length)
    seed = draw(st.integers(0, MAX_SEED))
    mask = (torch.rand(*shape, generator=seeded(seed)) < 0.5).long()
    eye = torch.eye(length, dtype=torch.long).expand(*shape)
    return torch.maximum(mask, eye)


@dataclass(frozen=True)
class SequenceBatch:
    """A batch of feature sequences with a mask; ``seed`` also seeds the reference's weights."""

    x: torch.Tensor  # (B, T, dim)
    mask: Optional[torch.Tensor]
    seed: int

    @property
    def shape(self) -> Tuple[int, int, int]:
        b, t, d = self.x.shape
        return int(b), int(t), int(d)


@st.composite
def sequence_batches(draw: st.DrawFn, max_batch: int = 3, max_len: int = 6, max_dim: int = 6, need_mask: bool = False) -> SequenceBatch:
    batch = draw(st.integers(1, max_batch))
    length = draw(st.integers(1, max_len))
    dim = draw(st.integers(1, max_dim))
    seed = draw(st.integers(0, MAX_SEED))
    mask = draw(masks(batch, length).filter(lambda m: m is not None) if need_mask else masks(batch, length))
    return SequenceBatch(randn(seed, batch, length, dim), mask, seed)
