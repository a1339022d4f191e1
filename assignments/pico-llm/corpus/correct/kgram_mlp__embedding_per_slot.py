"""A different design: one nn.Embedding per window slot, summed, then an MLP; the window is
built with unfold. Same window semantics (tokens t-k+1 .. t, token 0 before the start)."""


class KGramMLPSeqModel(nn.Module):
    def __init__(self, vocab_size, k=3, embed_size=1024, num_inner_layers=1, chunk_size=1):
        super().__init__()
        self.k, self.vocab_size = k, vocab_size
        self.slots = nn.ModuleList([nn.Embedding(vocab_size, embed_size) for _ in range(k)])
        layers = []
        for _ in range(num_inner_layers):
            layers += [nn.ReLU(), nn.Linear(embed_size, embed_size)]
        self.mlp = nn.Sequential(*layers, nn.ReLU(), nn.Linear(embed_size, vocab_size))

    def forward(self, tokens_seq):
        seq_len, batch_size = tokens_seq.shape
        padded = F.pad(tokens_seq.T, (self.k - 1, 0))  # (B, T + k - 1), zeros on the left
        windows = padded.unfold(1, self.k, 1)  # (B, T, k): windows[b, t] = tokens t-k+1 .. t
        summed = sum(slot(windows[..., i]) for i, slot in enumerate(self.slots))  # (B, T, E)
        return self.mlp(summed).transpose(0, 1)  # (T, B, V)
