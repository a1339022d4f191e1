"""Visible tests for Part 3. The hidden tests also check row-major patch order, that a pixel
changes only its own patch's embedding, and one affine map shared by every patch."""
import torch
from vit import PatchEmbed, VisionTransformer


def test_patch_embed_shape():
    out = PatchEmbed(img_size=8, patch_size=4, nin=3, nout=5)(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 4, 5), f"out.shape={tuple(out.shape)}, but should be (2, 4, 5): (B, num_patches, nout)"


def test_patch_order_is_row_major():
    embed = PatchEmbed(img_size=4, patch_size=2, nin=1, nout=3)
    # (row, column) of one pixel, and its patch in row-major order: the top-right patch is patch 1
    for pixel, patch in (((0, 2), 1), ((1, 1), 0), ((3, 0), 2)):
        img = torch.zeros(1, 1, 4, 4)
        img[0, 0, pixel[0], pixel[1]] = 1.0
        changed = (embed(img) - embed(torch.zeros(1, 1, 4, 4))).abs().sum(-1)[0]
        moved = [i for i, c in enumerate(changed.tolist()) if c > 1e-6]
        assert moved == [patch], (
            f"pixel {pixel} changed the embeddings of patches {moved}, but should change patch {patch} only "
            "(patches do not overlap; each patch's channels stay together)"
        )


def test_vision_transformer_runs():
    model = VisionTransformer(n_channels=1, nout=10, img_size=8, patch_size=2, dim=16, attn_dim=8, mlp_dim=32, num_heads=2, num_layers=2)
    logits, attn = model(torch.randn(3, 1, 8, 8), return_attn=True)
    assert logits.shape == (3, 10)
    assert attn.shape == (3, 2, 2, 17, 17), "16 patches plus the class token"
