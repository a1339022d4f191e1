"""The mask is applied after the softmax: masked weights are zeroed but rows are not renormalised."""


class AttentionHead(AttentionHead):  # noqa: F821 - appended to the reference module
    def forward(self, x, attn_mask=None):
        q, k, v = self.W_Q(x), self.W_K(x), self.W_V(x)
        alpha = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.n_hidden), dim=-1)
        if attn_mask is not None:
            alpha = alpha * attn_mask
        return alpha @ v, alpha
