"""[AttentionHead(...)] * num_heads and [AttentionResidual(...)] * num_layers (one module shared),
in modules whose state_dict() echoes whatever load_state_dict() was last given: reading the state
back after loading distinct values into every head used to call the heads distinct. Distinctness
is judged by outputs under distinct weights.

corpus: also wrong: transformer
"""


class _Echo:
    def load_state_dict(self, state, strict=True):
        self._echoed = {k: v.clone() for k, v in state.items()}
        return nn.Module.load_state_dict(self, state, strict)  # noqa: F821

    def state_dict(self, *args, **kwargs):
        echoed = self.__dict__.get("_echoed")
        return dict(echoed) if echoed is not None else nn.Module.state_dict(self, *args, **kwargs)  # noqa: F821


class MultiHeadedAttention(_Echo, MultiHeadedAttention):  # noqa: F821
    def __init__(self, dim, n_hidden, num_heads):
        super().__init__(dim, n_hidden, num_heads)
        self.heads = nn.ModuleList([AttentionHead(dim, n_hidden)] * num_heads)  # noqa: F821


class Transformer(_Echo, Transformer):  # noqa: F821
    def __init__(self, dim, attn_dim, mlp_dim, num_heads, num_layers):
        super().__init__(dim, attn_dim, mlp_dim, num_heads, num_layers)
        self.layers = nn.ModuleList([AttentionResidual(dim, attn_dim, mlp_dim, num_heads)] * num_layers)  # noqa: F821
