"""Only the first layer is given attn_mask; the others attend everywhere."""


class Transformer(Transformer):  # noqa: F821
    def forward(self, x, attn_mask=None, return_attn=False):
        collected = []
        for index, layer in enumerate(self.layers):
            x, alphas = layer(x, attn_mask if index == 0 else None)
            collected.append(alphas)
        return x, torch.stack(collected, dim=1) if return_attn else None
