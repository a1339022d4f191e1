"""Correct, MIT-style: ``forward(self, x, attn_mask)`` with no default, in the heads and in the
multi-head module, which passes the mask on positionally."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask):
        return super().forward(x, attn_mask)


class MultiHeadedAttention(MultiHeadedAttention):  # noqa: F821
    def forward(self, x, attn_mask):
        outs, alphas = zip(*(head(x, attn_mask) for head in self.heads))
        return self.W_O(torch.cat(outs, dim=-1)), torch.stack(alphas, dim=1)  # noqa: F821
