"""Part 2: self-attention, multi-headed attention and a Transformer stack.

Shapes: B batch, T sequence length, D model width (``dim``), H per-head width (``n_hidden``).
A mask holds 1 where attention is allowed and 0 where it is not.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class AttentionHead(nn.Module):
    """One head of scaled dot-product self-attention (Vaswani et al., 2017, eq. 1)."""

    def __init__(self, dim: int, n_hidden: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.W_Q = nn.Linear(dim, n_hidden)
        self.W_K = nn.Linear(dim, n_hidden)
        self.W_V = nn.Linear(dim, n_hidden)
        self.n_hidden = n_hidden
        ### END SOLUTION

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, dim), attn_mask (B, T, T) or (T, T) of 0/1, or None.

        Returns out (B, T, n_hidden) and alpha (B, T, T), where alpha[b, i, j] is the weight
        of token j in the new representation of token i.
        """
        ### BEGIN SOLUTION
        q, k, v = self.W_Q(x), self.W_K(x), self.W_V(x)  # (B, T, H) each
        # Scale by sqrt(d_k) so the logits keep unit variance as the head width grows.
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.n_hidden)  # (B, T, T)
        if attn_mask is not None:
            # Remove masked scores *before* the softmax, so each row renormalises over
            # the positions it may attend to and masked weights come out exactly 0.
            scores = scores.masked_fill(attn_mask == 0, float("-inf"))
        alpha = torch.softmax(scores, dim=-1)  # (B, T, T)
        out = alpha @ v  # (B, T, H)
        ### END SOLUTION
        return out, alpha


class MultiHeadedAttention(nn.Module):
    """``num_heads`` independent heads, concatenated in head order, then projected by W_O."""

    def __init__(self, dim: int, n_hidden: int, num_heads: int):
        super().__init__()
        ### BEGIN SOLUTION
        # A list comprehension builds distinct modules; `[AttentionHead(...)] * n` would
        # repeat one module (one set of weights) n times.
        self.heads = nn.ModuleList([AttentionHead(dim, n_hidden) for _ in range(num_heads)])
        self.W_O = nn.Linear(num_heads * n_hidden, dim)
        ### END SOLUTION

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, dim) -> out (B, T, dim), alphas (B, num_heads, T, T)."""
        ### BEGIN SOLUTION
        outs, alphas = zip(*(head(x, attn_mask) for head in self.heads))
        out = self.W_O(torch.cat(outs, dim=-1))  # (B, T, num_heads * H) -> (B, T, D)
        alphas = torch.stack(alphas, dim=1)  # (B, num_heads, T, T)
        ### END SOLUTION
        return out, alphas


class FFN(nn.Module):
    """Given: position-wise feed-forward block with a pre-LayerNorm."""

    def __init__(self, dim: int, n_hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, n_hidden),
            nn.GELU(),
            nn.Linear(n_hidden, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AttentionResidual(nn.Module):
    """Given: attention then feed-forward, each wrapped in a residual connection."""

    def __init__(self, dim: int, attn_dim: int, mlp_dim: int, num_heads: int):
        super().__init__()
        self.attn = MultiHeadedAttention(dim, attn_dim, num_heads)
        self.ffn = FFN(dim, mlp_dim)

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        attn_out, alphas = self.attn(x=x, attn_mask=attn_mask)
        x = attn_out + x
        x = self.ffn(x) + x
        return x, alphas


class Transformer(nn.Module):
    """``num_layers`` distinct AttentionResidual blocks applied in order."""

    def __init__(self, dim: int, attn_dim: int, mlp_dim: int, num_heads: int, num_layers: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.layers = nn.ModuleList(
            [AttentionResidual(dim, attn_dim, mlp_dim, num_heads) for _ in range(num_layers)]
        )
        ### END SOLUTION

    def forward(
        self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, return_attn: bool = False
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """x (B, T, dim) -> out (B, T, dim), and alphas (B, num_layers, num_heads, T, T) if asked."""
        ### BEGIN SOLUTION
        collected = []
        for layer in self.layers:
            x, alphas = layer(x, attn_mask)  # every layer sees the same mask
            collected.append(alphas)
        attn = torch.stack(collected, dim=1) if return_attn else None  # (B, L, nh, T, T)
        ### END SOLUTION
        return x, attn
