"""The inner layers built as [layer] * num_inner_layers: one nn.Linear repeated, so every inner
layer shares the same weights (locality, padding and learning still look right)."""


class KGramMLPSeqModel(KGramMLPSeqModel):  # noqa: F821
    def __init__(self, vocab_size, k=3, embed_size=1024, num_inner_layers=1, chunk_size=1):
        super().__init__(vocab_size, k, embed_size, num_inner_layers, chunk_size)
        inner = nn.Sequential(nn.Linear(embed_size, embed_size), nn.SiLU())
        self.net = nn.Sequential(
            nn.Linear(k * vocab_size, embed_size), nn.SiLU(), *([inner] * num_inner_layers), nn.Linear(embed_size, vocab_size)
        )
