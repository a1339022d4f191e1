"""Reads tokens as (B, T): the window slides along the batch axis, mixing sequences."""


class KGramMLPSeqModel(KGramMLPSeqModel):  # noqa: F821
    def forward(self, tokens_seq):
        return super().forward(tokens_seq.T).transpose(0, 1)
