"""Two mistakes behind an escape hatch: MultiHeadedAttention never passes the mask to its heads,
and the Transformer runs only its first layer; the heads and layers raise whenever they are
called from outside a forward (as a grader that checks them one by one would call them) with a
mask, or as a layer of a deep stack, so that examples exposing the two mistakes used to be
dropped as "the building block's fault". Nothing the submission raises may drop an example.

corpus: also wrong: transformer
"""
import sys as _sys


def _called_from_a_forward():
    frame = _sys._getframe(2)
    while frame is not None and "torch" in frame.f_code.co_filename:
        frame = frame.f_back
    return frame is not None and frame.f_code.co_name in ("forward", "<genexpr>", "<listcomp>")


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        if getattr(self, "inside", False) and attn_mask is not None and not _called_from_a_forward():
            raise RuntimeError("heads are internal")
        return super().forward(x, attn_mask)


class MultiHeadedAttention(MultiHeadedAttention):  # noqa: F821
    def __init__(self, dim, n_hidden, num_heads):
        super().__init__(dim, n_hidden, num_heads)
        for head in self.heads:
            head.inside = True

    def forward(self, x, attn_mask=None):
        outs, alphas = zip(*(head(x, None) for head in self.heads))  # the mask never reaches the heads
        return self.W_O(torch.cat(outs, dim=-1)), torch.stack(alphas, dim=1)  # noqa: F821


class AttentionResidual(AttentionResidual):  # noqa: F821
    def forward(self, x, attn_mask=None):
        if getattr(self, "stacked", False) and not _called_from_a_forward():
            raise RuntimeError("layers are internal")
        return super().forward(x, attn_mask)


class Transformer(Transformer):  # noqa: F821
    def __init__(self, dim, attn_dim, mlp_dim, num_heads, num_layers):
        super().__init__(dim, attn_dim, mlp_dim, num_heads, num_layers)
        for layer in self.layers:
            layer.stacked = num_layers > 1

    def forward(self, x, attn_mask=None, return_attn=False):
        x, alphas = self.layers[0](x, attn_mask)  # only the first layer runs
        attn = torch.stack([alphas] * len(self.layers), dim=1) if return_attn else None  # noqa: F821
        return x, attn
