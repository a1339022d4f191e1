"""The mean of x**2 over every entry (no dim=-1): one root mean square for the whole batch, so
vectors influence each other. Only RMSNorm may lose points: TransformerModel is graded with
this fault factored out."""


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean() + self.eps) * self.weight
