"""Part 3: a Vision Transformer (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words").

The image is cut into non-overlapping ``patch_size x patch_size`` patches, each patch is
mapped to a ``dim``-vector by one shared affine map, a learned positional embedding is
added, a learned class token is prepended, and the class token's final representation
is classified.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from attention import Transformer


class PatchEmbed(nn.Module):
    """Split an image into non-overlapping square patches and embed each one linearly.

    Input (B, nin, img_size, img_size); output (B, num_patches, nout) with
    num_patches = (img_size // patch_size) ** 2. Patch k is the block at row k // n and
    column k % n, where n = img_size // patch_size (row-major order).
    """

    def __init__(self, img_size: int, patch_size: int, nin: int, nout: int):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        ### BEGIN SOLUTION
        # A convolution whose stride equals its kernel size visits each patch exactly
        # once and applies the same weights to all of them: a shared linear map of the
        # nin * patch_size * patch_size pixels of every patch, as in ViT.
        self.proj = nn.Conv2d(nin, nout, kernel_size=patch_size, stride=patch_size)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, nin, img_size, img_size) -> (B, num_patches, nout)."""
        ### BEGIN SOLUTION
        grid = self.proj(x)  # (B, nout, n, n): one embedding per patch, channels first
        # Flatten the grid row by row, then move the channel axis last. Reshaping the
        # (B, nout, n, n) tensor straight to (B, n*n, nout) would mix channels and patches.
        patches = grid.flatten(start_dim=2).transpose(1, 2)  # (B, n*n, nout)
        ### END SOLUTION
        return patches


class VisionTransformer(nn.Module):
    """Given: ViT classifier. ``forward(img)`` returns (logits (B, nout), alphas or None)."""

    def __init__(
        self,
        n_channels: int,
        nout: int,
        img_size: int,
        patch_size: int,
        dim: int,
        attn_dim: int,
        mlp_dim: int,
        num_heads: int,
        num_layers: int,
    ):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size=img_size, patch_size=patch_size, nin=n_channels, nout=dim)
        num_patches = (img_size // patch_size) ** 2
        # One learned vector per patch position: attention itself is blind to order.
        self.pos_embed = nn.Embedding(num_patches, dim)
        # The class token attends to every patch; its output summarises the image.
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.transformer = Transformer(dim, attn_dim, mlp_dim, num_heads, num_layers)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, nout))

    def forward(self, img: torch.Tensor, return_attn: bool = False) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """img (B, n_channels, img_size, img_size) -> logits (B, nout), alphas.

        alphas is (B, num_layers, num_heads, 1 + num_patches, 1 + num_patches) when
        ``return_attn`` is true (position 0 is the class token), else None.
        """
        tokens = self.patch_embed(img)  # (B, P, dim)
        batch, num_tokens, _ = tokens.shape
        positions = torch.arange(num_tokens, device=tokens.device)  # (P,)
        tokens = tokens + self.pos_embed(positions)  # (P, dim) broadcasts over the batch
        cls = self.cls_token.expand(batch, -1, -1)  # (B, 1, dim)
        sequence = torch.cat([cls, tokens], dim=1)  # (B, 1 + P, dim)
        hidden, alphas = self.transformer(sequence, attn_mask=None, return_attn=return_attn)
        logits = self.head(hidden[:, 0])  # (B, nout), read off the class token
        return logits, alphas
