"""PatchEmbed with stride 1 (overlapping patches), cropped to the first n x n windows so the shape still matches."""


class PatchEmbed(nn.Module):
    def __init__(self, img_size: int, patch_size: int, nin: int, nout: int):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(nin, nout, kernel_size=patch_size, stride=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.img_size // self.patch_size
        grid = self.proj(x)[:, :, :n, :n]  # (B, nout, n, n) of overlapping windows
        patches = grid.flatten(start_dim=2).transpose(1, 2)  # (B, n*n, nout)
        return patches
