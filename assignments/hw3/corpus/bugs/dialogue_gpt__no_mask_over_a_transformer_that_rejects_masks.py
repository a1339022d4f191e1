"""Two bugs that hide each other: the Transformer raises whenever it is given a mask (``if
attn_mask:`` on a tensor), and DialogueGPT, instead of fixing it, passes no mask at all. The
Transformer loses its points in Part 2; DialogueGPT must lose its own too, not pass because the
Transformer is to blame for every masked run.

corpus: also wrong: transformer
"""


class Transformer(Transformer):  # noqa: F821 - appended to the reference module
    def forward(self, x, attn_mask=None, return_attn=False):
        collected = []
        for layer in self.layers:
            x, alphas = layer(x, attn_mask if attn_mask else None)  # raises for a mask of more than one entry
            collected.append(alphas)
        return x, torch.stack(collected, dim=1) if return_attn else None  # noqa: F821


class DialogueGPT(DialogueGPT):  # noqa: F821
    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # (T,)  # noqa: F821
        x = self.token_embeddings(input_ids) + self.pos_embeddings(positions)  # (B, T, dim)
        x, alphas = self.transformer(x, attn_mask=None, return_attn=True)
        return self.head(x), alphas  # (B, T, vocab_size)
