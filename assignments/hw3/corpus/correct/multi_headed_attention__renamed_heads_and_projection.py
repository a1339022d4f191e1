"""Correct: the heads are called ``attention_heads`` and the output projection ``linear`` (any
names are fine; the grader finds them by shape and role)."""


class MultiHeadedAttention(nn.Module):  # noqa: F821
    def __init__(self, dim, n_hidden, num_heads):
        super().__init__()
        self.attention_heads = nn.ModuleList([AttentionHead(dim, n_hidden) for _ in range(num_heads)])  # noqa: F821
        self.linear = nn.Linear(num_heads * n_hidden, dim)  # noqa: F821

    def forward(self, x, attn_mask=None):
        outs, alphas = zip(*(head(x, attn_mask) for head in self.attention_heads))
        return self.linear(torch.cat(outs, dim=-1)), torch.stack(alphas, dim=1)  # noqa: F821
