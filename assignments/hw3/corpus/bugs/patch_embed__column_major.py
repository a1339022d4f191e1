"""PatchEmbed that lists patches column by column (patch k at row k % n, column k // n) instead of row-major."""


class PatchEmbed(nn.Module):
    def __init__(self, img_size: int, patch_size: int, nin: int, nout: int):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(nin, nout, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = self.proj(x)  # (B, nout, n, n)
        patches = grid.transpose(2, 3).flatten(start_dim=2).transpose(1, 2)  # (B, n*n, nout), column-major
        return patches
