"""[AttentionResidual(...)] * num_layers: one block repeated for every layer."""


class Transformer(Transformer):  # noqa: F821
    def __init__(self, dim, attn_dim, mlp_dim, num_heads, num_layers):
        super().__init__(dim, attn_dim, mlp_dim, num_heads, num_layers)
        self.layers = nn.ModuleList([AttentionResidual(dim, attn_dim, mlp_dim, num_heads)] * num_layers)  # noqa: F821
