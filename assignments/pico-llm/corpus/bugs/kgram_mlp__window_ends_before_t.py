"""The original starter's window: tokens t-k .. t-1, so the logits at t never see token t."""


class KGramMLPSeqModel(KGramMLPSeqModel):  # noqa: F821
    def forward(self, tokens_seq):
        seq_len, batch_size = tokens_seq.shape
        pad = torch.zeros(self.k, batch_size, dtype=tokens_seq.dtype)
        padded = torch.cat([pad, tokens_seq], dim=0)  # (T + k, B)
        windows = torch.stack([padded[t : t + self.k] for t in range(seq_len)])  # tokens t-k .. t-1
        one_hot = F.one_hot(windows, num_classes=self.vocab_size).float()  # (T, k, B, V)
        flat = one_hot.permute(0, 2, 1, 3).reshape(seq_len * batch_size, -1)
        return self.net(flat).reshape(seq_len, batch_size, -1)
