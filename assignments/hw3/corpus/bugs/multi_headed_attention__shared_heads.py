"""[AttentionHead(...)] * num_heads: one module (one set of weights) repeated for every head."""


class MultiHeadedAttention(MultiHeadedAttention):  # noqa: F821
    def __init__(self, dim, n_hidden, num_heads):
        super().__init__(dim, n_hidden, num_heads)
        self.heads = nn.ModuleList([AttentionHead(dim, n_hidden)] * num_heads)  # noqa: F821
