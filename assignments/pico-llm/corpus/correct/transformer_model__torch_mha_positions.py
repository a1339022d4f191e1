"""nn.MultiheadAttention (time-first by default) with a boolean causal mask, learned positional
embeddings for up to 128 positions, and post-norm blocks."""


class _PostNormBlock(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads)
        self.norm1, self.norm2 = RMSNorm(d_model), RMSNorm(d_model)  # noqa: F821
        self.mlp = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.ReLU(), nn.Linear(2 * d_model, d_model))

    def forward(self, x):
        seq_len = x.shape[0]
        future = torch.ones(seq_len, seq_len, dtype=torch.bool).triu(1)  # True = not allowed
        x = self.norm1(x + self.attn(x, x, x, attn_mask=future, need_weights=False)[0])
        return self.norm2(x + self.mlp(x))


class TransformerModel(nn.Module):
    def __init__(self, vocab_size=50257, d_model=1024, n_heads=2, n_blocks=4):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, d_model)
        self.positions = nn.Embedding(128, d_model)
        self.layers = nn.Sequential(*[_PostNormBlock(d_model, n_heads) for _ in range(n_blocks)])
        self.out = nn.Linear(d_model, vocab_size)

    def forward(self, tokens_seq):
        positions = torch.arange(tokens_seq.shape[0]).unsqueeze(1)  # (T, 1)
        return self.out(self.layers(self.tokens(tokens_seq) + self.positions(positions)))
