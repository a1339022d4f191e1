"""W_Q, W_K and W_V are built with bias=False."""


class AttentionHead(AttentionHead):  # noqa: F821
    def __init__(self, dim, n_hidden):
        super().__init__(dim, n_hidden)
        self.W_Q = nn.Linear(dim, n_hidden, bias=False)
        self.W_K = nn.Linear(dim, n_hidden, bias=False)
        self.W_V = nn.Linear(dim, n_hidden, bias=False)
