"""The heads' outputs are concatenated in reverse order."""


class MultiHeadedAttention(MultiHeadedAttention):  # noqa: F821
    def forward(self, x, attn_mask=None):
        outs, alphas = zip(*(head(x, attn_mask) for head in self.heads))
        return self.W_O(torch.cat(outs[::-1], dim=-1)), torch.stack(alphas, dim=1)
