"""The blocks kept in a plain Python list: they are never registered, so train_steps never
trains them (and state_dict() does not have them); the model only learns bigram statistics."""


class TransformerModel(TransformerModel):  # noqa: F821
    def __init__(self, vocab_size=50257, d_model=1024, n_heads=2, n_blocks=4):
        super().__init__(vocab_size, d_model, n_heads, n_blocks)
        blocks = list(self.blocks)
        del self.blocks  # unregister the nn.ModuleList ...
        self.blocks = blocks  # ... and keep the same blocks in a plain list, outside _modules
