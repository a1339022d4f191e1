"""Correct, nanoGPT-style: the causal mask kept as a float registered buffer ``tril`` (in
state_dict, not a parameter), the batch moved first, torch's scaled_dot_product_attention left out."""


class _Block(nn.Module):
    def __init__(self, d_model, n_heads, block_size=1024):
        super().__init__()
        self.n_heads = n_heads
        self.ln1, self.ln2 = RMSNorm(d_model), RMSNorm(d_model)  # noqa: F821
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))

    def forward(self, x):  # x (B, T, C)
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = att.masked_fill(self.tril[:T, :T] == 0, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp(self.ln2(x))


class TransformerModel(nn.Module):
    def __init__(self, vocab_size=50257, d_model=1024, n_heads=2, n_blocks=4):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList([_Block(d_model, n_heads) for _ in range(n_blocks)])
        self.ln_f = RMSNorm(d_model)  # noqa: F821
        self.lm_head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens_seq):
        x = self.wte(tokens_seq.transpose(0, 1))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x)).transpose(0, 1)  # (T, B, V)
