"""The NYU blueprint taken literally: x + sum_j f_j(x), one module per head, each with its own
query, key, value and output maps; the batch handled by moving it first."""


class _Head(nn.Module):
    def __init__(self, d_model, head_dim):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(d_model, head_dim, bias=False) for _ in range(3))
        self.o = nn.Linear(head_dim, d_model, bias=False)

    def forward(self, x):  # x (B, T, D)
        q, k, v = self.q(x), self.k(x), self.v(x)
        scores = q @ k.transpose(1, 2) / q.shape[-1] ** 0.5
        scores = scores + torch.full(scores.shape[-2:], -1e9).triu(1)  # additive causal mask
        return self.o(scores.softmax(-1) @ v)


class TransformerModel(nn.Module):
    def __init__(self, vocab_size=50257, d_model=1024, n_heads=2, n_blocks=4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.heads = nn.ModuleList(
            [nn.ModuleList([_Head(d_model, max(1, d_model // n_heads)) for _ in range(n_heads)]) for _ in range(n_blocks)]
        )
        self.norms = nn.ModuleList([RMSNorm(d_model) for _ in range(2 * n_blocks + 1)])  # noqa: F821
        self.mlps = nn.ModuleList(
            [nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.SiLU(), nn.Linear(4 * d_model, d_model)) for _ in range(n_blocks)]
        )
        self.unembed = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, tokens_seq):
        x = self.embed(tokens_seq.T)  # (B, T, D)
        for i, (heads, mlp) in enumerate(zip(self.heads, self.mlps)):
            h = self.norms[2 * i](x)
            x = x + sum(head(h) for head in heads)
            x = x + mlp(self.norms[2 * i + 1](x))
        return self.unembed(self.norms[-1](x)).transpose(0, 1)  # (T, B, V)
