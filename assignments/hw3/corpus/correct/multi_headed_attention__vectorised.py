"""All heads at once: the heads' weights are stacked and used in one batched computation."""


class MultiHeadedAttention(MultiHeadedAttention):  # noqa: F821
    def forward(self, x, attn_mask=None):
        def stacked(name):
            weight = torch.stack([getattr(h, name).weight for h in self.heads])  # (nh, H, D)
            bias = torch.stack([getattr(h, name).bias for h in self.heads])  # (nh, H)
            return torch.einsum("btd,nhd->bnth", x, weight) + bias[None, :, None, :]  # (B, nh, T, H)

        q, k, v = stacked("W_Q"), stacked("W_K"), stacked("W_V")
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, nh, T, T)
        if attn_mask is not None:
            mask = attn_mask if attn_mask.dim() == 3 else attn_mask[None]
            scores = scores.masked_fill(mask[:, None] == 0, float("-inf"))
        alphas = scores.softmax(-1)
        heads = alphas @ v  # (B, nh, T, H)
        b, nh, t, h = heads.shape
        return self.W_O(heads.permute(0, 2, 1, 3).reshape(b, t, nh * h)), alphas  # (B, T, nh*H)
