"""attn_mask is accepted but never used."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        return super().forward(x, None)
