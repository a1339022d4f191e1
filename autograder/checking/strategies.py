"""Shared hypothesis strategies: named composites with bounded sizes.

Tensors are not drawn element by element (slow to generate and to shrink): a strategy draws the
sizes and a seed, and the tensor is made from a seeded generator. Shrinking then makes the
sizes small and the seed 0, which gives short reproducers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from hypothesis import strategies as st

MAX_SEED = 2**16


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=seeded(seed))


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
