"""The mask is moved to the GPU with .cuda() in MultiHeadedAttention.forward, which fails on a
CPU-only machine. Only this problem loses points: the Transformer and DialogueGPT that contain
this module are graded with its forward computed by the grader."""


class MultiHeadedAttention(MultiHeadedAttention):  # noqa: F821
    def forward(self, x, attn_mask=None):
        if attn_mask is not None:
            attn_mask = attn_mask.cuda()
        return super().forward(x, attn_mask)
