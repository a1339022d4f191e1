"""MultiHeadedAttention.forward takes no mask at all: ``forward(self, x)``. The given
AttentionResidual calls it with attn_mask=..., so it raises inside every Transformer; only this
problem loses points for it."""


class MultiHeadedAttention(MultiHeadedAttention):  # noqa: F821
    def forward(self, x):
        outs, alphas = zip(*(head(x) for head in self.heads))
        return self.W_O(torch.cat(outs, dim=-1)), torch.stack(alphas, dim=1)  # noqa: F821
