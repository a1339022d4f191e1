"""Correct: DialogueGPT that slices pos_embeddings.weight[:T] and builds a long (T, T) mask from an arange comparison."""


class DialogueGPT(nn.Module):
    def __init__(self, vocab_size: int, max_N: int, dim: int, attn_dim: int, mlp_dim: int, num_heads: int, num_layers: int):
        super().__init__()
        self.max_N = max_N
        self.token_embeddings = nn.Embedding(vocab_size, dim)
        self.pos_embeddings = nn.Embedding(max_N, dim)
        self.transformer = Transformer(dim, attn_dim, mlp_dim, num_heads, num_layers)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, vocab_size))

    def forward(self, input_ids: torch.Tensor):
        b, t = input_ids.shape
        x = self.token_embeddings(input_ids) + self.pos_embeddings.weight[:t].unsqueeze(0)  # (B, T, dim)
        rows = torch.arange(t).unsqueeze(1)  # (T, 1)
        cols = torch.arange(t).unsqueeze(0)  # (1, T)
        mask = (cols <= rows).long()  # (T, T), 1 where j <= i
        x, alphas = self.transformer(x, mask, True)
        return self.head(x), alphas

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, num_tokens: int) -> torch.Tensor:
        for _ in range(num_tokens):
            window = input_ids[:, -self.max_N:]  # (B, <= max_N)
            logits, _ = self(window)
            next_id = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
            input_ids = torch.cat([input_ids, next_id], dim=1)
        return input_ids
