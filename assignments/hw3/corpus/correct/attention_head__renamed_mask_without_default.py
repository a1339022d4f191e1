"""Correct, MIT-style: ``forward(self, x, mask)`` with the mask named ``mask`` and no default, and
the projections called ``query``, ``key`` and ``value``."""


class AttentionHead(nn.Module):  # noqa: F821
    def __init__(self, dim, n_hidden):
        super().__init__()
        self.query = nn.Linear(dim, n_hidden)  # noqa: F821
        self.key = nn.Linear(dim, n_hidden)  # noqa: F821
        self.value = nn.Linear(dim, n_hidden)  # noqa: F821
        self.n_hidden = n_hidden

    def forward(self, x, mask):
        scores = self.query(x) @ self.key(x).transpose(-2, -1) / math.sqrt(self.n_hidden)  # noqa: F821
        if mask is not None:
            scores = scores.masked_fill(mask == 0, float("-inf"))
        alpha = torch.softmax(scores, dim=-1)  # noqa: F821
        return alpha @ self.value(x), alpha
