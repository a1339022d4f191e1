"""DialogueGPT.forward left as the blank stub, over a Transformer that raises whenever it is given
a mask. The stub used to get full marks: every failure was blamed on the Transformer. Each of the
two loses points on its own problem.

corpus: also wrong: transformer
"""


class Transformer(Transformer):  # noqa: F821
    def forward(self, x, attn_mask=None, return_attn=False):
        if attn_mask is not None:
            raise RuntimeError("this Transformer does not support masks")
        return super().forward(x, None, return_attn)


class DialogueGPT(DialogueGPT):  # noqa: F821
    def forward(self, input_ids):
        raise NotImplementedError("DialogueGPT.forward: replace this line with your solution")
