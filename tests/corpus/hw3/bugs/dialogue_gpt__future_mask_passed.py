"""DialogueGPT that builds PyTorch's "future" mask triu(ones, diagonal=1) and passes it as is, where 1 means "may attend"."""


class DialogueGPT(nn.Module):
    def __init__(self, vocab_size: int, max_N: int, dim: int, attn_dim: int, mlp_dim: int, num_heads: int, num_layers: int):
        super().__init__()
        self.max_N = max_N
        self.token_embeddings = nn.Embedding(vocab_size, dim)
        self.pos_embeddings = nn.Embedding(max_N, dim)
        self.transformer = Transformer(dim, attn_dim, mlp_dim, num_heads, num_layers)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, vocab_size))

    def forward(self, input_ids: torch.Tensor):
        num_tokens = input_ids.shape[1]
        positions = torch.arange(num_tokens, device=input_ids.device)  # (T,)
        x = self.token_embeddings(input_ids) + self.pos_embeddings(positions)  # (B, T, dim)
        future = torch.triu(torch.ones(num_tokens, num_tokens, device=input_ids.device), diagonal=1)  # (T, T)
        x, alphas = self.transformer(x, attn_mask=future, return_attn=True)
        logits = self.head(x)  # (B, T, vocab_size)
        return logits, alphas

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, num_tokens: int) -> torch.Tensor:
        for _ in range(num_tokens):
            window = input_ids[:, -self.max_N:]  # (B, <= max_N)
            logits, _ = self(window)
            next_id = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
            input_ids = torch.cat([input_ids, next_id], dim=1)
        return input_ids
