"""Correct: PatchEmbed with the strided conv, using permute + reshape instead of flatten + transpose."""


class PatchEmbed(nn.Module):
    def __init__(self, img_size: int, patch_size: int, nin: int, nout: int):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(nin, nout, kernel_size=patch_size, stride=patch_size, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x).permute(0, 2, 3, 1)  # (B, n, n, nout)
        return y.reshape(y.shape[0], -1, y.shape[-1])  # (B, n*n, nout)
