"""Scores scaled by sqrt(dim) instead of sqrt(n_hidden)."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        q, k, v = self.W_Q(x), self.W_K(x), self.W_V(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(x.shape[-1])
        if attn_mask is not None:
            scores = scores.masked_fill(attn_mask == 0, float("-inf"))
        alpha = torch.softmax(scores, dim=-1)
        return alpha @ v, alpha
