"""A loop over the batch with masked_fill(-inf) on bool masks; F.softmax from the library."""


class AttentionHead(AttentionHead):  # noqa: F821
    def forward(self, x, attn_mask=None):
        outs, alphas = [], []
        for b in range(x.shape[0]):
            q, k, v = self.W_Q(x[b]), self.W_K(x[b]), self.W_V(x[b])
            scores = q @ k.T / math.sqrt(q.shape[-1])
            if attn_mask is not None:
                m = attn_mask if attn_mask.dim() == 2 else attn_mask[b]
                scores = scores.masked_fill(~m.bool(), float("-inf"))
            a = F.softmax(scores, dim=-1)
            outs.append(a @ v)
            alphas.append(a)
        return torch.stack(outs), torch.stack(alphas)
