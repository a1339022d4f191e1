"""AttentionHead.forward computes out and alpha but never returns them (it returns None). Only
this problem loses points: MultiHeadedAttention, the Transformer and the given VisionTransformer
around a PatchEmbed are graded with the heads' forward computed by the grader."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        super().forward(x, attn_mask)
