"""Tests a mask with ``if attn_mask:``, which raises for any mask of more than one entry (a tensor
has no single truth value). Part 2 loses points; DialogueGPT, which passes a causal mask to this
Transformer as it should, must not be charged again."""


class Transformer(Transformer):  # noqa: F821 - appended to the reference module
    def forward(self, x, attn_mask=None, return_attn=False):
        collected = []
        for layer in self.layers:
            if attn_mask:  # RuntimeError: Boolean value of Tensor with more than one value is ambiguous
                x, alphas = layer(x, attn_mask)
            else:
                x, alphas = layer(x, None)
            collected.append(alphas)
        return x, torch.stack(collected, dim=1) if return_attn else None  # noqa: F821
