"""The layers' alphas are stacked on axis 0 instead of axis 1."""


class Transformer(Transformer):  # noqa: F821
    def forward(self, x, attn_mask=None, return_attn=False):
        collected = []
        for layer in self.layers:
            x, alphas = layer(x, attn_mask)
            collected.append(alphas)
        return x, torch.stack(collected, dim=0) if return_attn else None
