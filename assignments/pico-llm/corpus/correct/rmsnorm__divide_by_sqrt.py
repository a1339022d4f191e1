"""Written with torch.sqrt and a division, eps given as a keyword to a stored attribute."""


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.epsilon = float(eps)
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        mean_square = (x * x).sum(dim=-1, keepdim=True) / x.shape[-1]
        return self.weight * (x / torch.sqrt(mean_square + self.epsilon))
