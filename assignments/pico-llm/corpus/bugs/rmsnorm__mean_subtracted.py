"""Subtracts the mean before dividing by the root mean square: LayerNorm without a bias."""


class RMSNorm(RMSNorm):  # noqa: F821
    def forward(self, x):
        x = x - x.mean(-1, keepdim=True)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight
