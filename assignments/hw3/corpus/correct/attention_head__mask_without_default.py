"""Correct, as the handout's skeleton declares it: ``forward(self, x, attn_mask)`` with no default."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask):
        return super().forward(x, attn_mask)
