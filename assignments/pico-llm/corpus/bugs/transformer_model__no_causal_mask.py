"""Attention without the causal mask: every position reads the future."""


class TransformerBlock(TransformerBlock):  # noqa: F821
    def forward(self, x):
        seq_len, batch_size, d_model = x.shape
        head_dim = d_model // self.n_heads
        q, k, v = self.qkv(self.attn_norm(x)).split(d_model, dim=-1)
        q, k, v = (t.reshape(seq_len, batch_size, self.n_heads, head_dim).permute(1, 2, 0, 3) for t in (q, k, v))
        mixed = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(head_dim), dim=-1) @ v
        x = x + self.proj(mixed.permute(2, 0, 1, 3).reshape(seq_len, batch_size, d_model))
        return x + self.mlp(self.mlp_norm(x))
