"""The mask is read the wrong way round: positions with 1 are removed, positions with 0 kept."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        q, k, v = self.W_Q(x), self.W_K(x), self.W_V(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.n_hidden)
        if attn_mask is not None:
            scores = scores.masked_fill(attn_mask == 1, -1e9)
        alpha = torch.softmax(scores, dim=-1)
        return alpha @ v, alpha
