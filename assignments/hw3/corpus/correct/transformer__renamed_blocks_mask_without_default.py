"""Correct: the layers are called ``blocks`` and forward declares ``(self, x, attn_mask, return_attn)``
without defaults, as MIT-style skeletons do."""


class Transformer(nn.Module):  # noqa: F821
    def __init__(self, dim, attn_dim, mlp_dim, num_heads, num_layers):
        super().__init__()
        self.blocks = nn.ModuleList([AttentionResidual(dim, attn_dim, mlp_dim, num_heads) for _ in range(num_layers)])  # noqa: F821

    def forward(self, x, attn_mask, return_attn):
        collected = []
        for block in self.blocks:
            x, alphas = block(x, attn_mask)
            collected.append(alphas)
        return x, torch.stack(collected, dim=1) if return_attn else None  # noqa: F821
