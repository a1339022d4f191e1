"""The MLP's layers kept in a plain Python list: nn.Module never registers them, so they have no
place in parameters() or state_dict() and the optimizer cannot train them."""


class KGramMLPSeqModel(KGramMLPSeqModel):  # noqa: F821
    def __init__(self, vocab_size, k=3, embed_size=1024, num_inner_layers=1, chunk_size=1):
        super().__init__(vocab_size, k, embed_size, num_inner_layers, chunk_size)
        layers = [nn.Linear(k * vocab_size, embed_size), nn.SiLU(), nn.Linear(embed_size, vocab_size)]
        del self.net
        self.layers = layers

    def net(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
