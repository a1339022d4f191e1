"""Correct maths with the gain called ``gain`` and eps kept as a registered buffer."""


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(dim))
        self.register_buffer("eps", torch.tensor(float(eps)))

    def forward(self, x):
        rms = torch.sqrt(torch.mean(x * x, dim=-1, keepdim=True) + self.eps)
        return self.gain * (x / rms)
