"""An RMSNorm with a learnable bias, as if it were LayerNorm (same output until trained)."""


class RMSNorm(RMSNorm):  # noqa: F821
    def __init__(self, dim, eps=1e-5):
        super().__init__(dim, eps)
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight + self.bias
