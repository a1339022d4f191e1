"""An additive mask of -1e9 and a hand-written, numerically stable softmax."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        q, k, v = self.W_Q(x), self.W_K(x), self.W_V(x)
        scores = torch.einsum("btd,bsd->bts", q, k) * self.n_hidden ** -0.5
        if attn_mask is not None:
            scores = scores + (1 - attn_mask.float()) * -1e9
        scores = scores - scores.max(dim=-1, keepdim=True).values
        weights = scores.exp()
        alpha = weights / weights.sum(dim=-1, keepdim=True)
        return torch.einsum("bts,bsd->btd", alpha, v), alpha
