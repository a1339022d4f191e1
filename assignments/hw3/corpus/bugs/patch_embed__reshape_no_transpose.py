"""PatchEmbed that reshapes the (B, nout, n, n) conv output straight to (B, n*n, nout), mixing channels and patches."""


class PatchEmbed(nn.Module):
    def __init__(self, img_size: int, patch_size: int, nin: int, nout: int):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(nin, nout, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = self.proj(x)  # (B, nout, n, n)
        patches = grid.reshape(grid.shape[0], self.num_patches, -1)  # (B, n*n, nout), but scrambled
        return patches
