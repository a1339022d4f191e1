"""nn.LayerNorm everywhere instead of RMSNorm (the handout asks for RMSNorm throughout):
causal, batch-independent and trainable, so only the RMSNorm-throughout check can tell."""


class TransformerModel(TransformerModel):  # noqa: F821
    def __init__(self, vocab_size=50257, d_model=1024, n_heads=2, n_blocks=4):
        super().__init__(vocab_size, d_model, n_heads, n_blocks)
        for block in self.blocks:
            block.attn_norm = nn.LayerNorm(d_model)
            block.mlp_norm = nn.LayerNorm(d_model)
        self.final_norm = nn.LayerNorm(d_model)
