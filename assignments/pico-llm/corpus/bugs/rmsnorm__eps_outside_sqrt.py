"""eps added after the square root: equal for large inputs, far off for tiny ones."""


class RMSNorm(RMSNorm):  # noqa: F821
    def forward(self, x):
        return x / (x.pow(2).mean(-1, keepdim=True).sqrt() + self.eps) * self.weight
