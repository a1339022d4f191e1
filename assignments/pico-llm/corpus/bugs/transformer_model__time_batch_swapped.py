"""Treats the time-first tokens (T, B) as (B, T): the causal attention runs over the batch axis,
so sequence b reads sequences 0..b at the same position and never its own past."""


class TransformerBlock(TransformerBlock):  # noqa: F821
    def forward(self, x):
        # x is (T, B, D) but is read as (B, T, D): the "time" axis below is the batch.
        return super().forward(x.transpose(0, 1)).transpose(0, 1)
