"""The mask is moved to the GPU with .cuda(), which fails on a CPU-only machine."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        if attn_mask is not None:
            attn_mask = attn_mask.cuda()
        return super().forward(x, attn_mask)
