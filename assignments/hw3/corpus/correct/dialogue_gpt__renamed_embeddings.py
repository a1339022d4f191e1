"""Correct: the embeddings are called ``wte`` and ``wpe`` (GPT-2's names)."""


class DialogueGPT(DialogueGPT):  # noqa: F821
    def __init__(self, vocab_size, max_N, dim, attn_dim, mlp_dim, num_heads, num_layers):
        nn.Module.__init__(self)  # noqa: F821
        self.max_N = max_N
        self.wte = nn.Embedding(vocab_size, dim)  # noqa: F821
        self.wpe = nn.Embedding(max_N, dim)  # noqa: F821
        self.transformer = Transformer(dim, attn_dim, mlp_dim, num_heads, num_layers)  # noqa: F821
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, vocab_size))  # noqa: F821

    def forward(self, input_ids):
        t = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(t))  # noqa: F821
        x, alphas = self.transformer(x, torch.tril(torch.ones(t, t)), True)  # noqa: F821
        return self.head(x), alphas
