"""Correct: PatchEmbed that cuts patches with F.unfold and embeds them with nn.Linear (no `proj` attribute)."""


class PatchEmbed(nn.Module):
    def __init__(self, img_size: int, patch_size: int, nin: int, nout: int):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.embed = nn.Linear(nin * patch_size * patch_size, nout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # unfold lists the windows row by row, each flattened channel-major.
        cols = F.unfold(x, kernel_size=self.patch_size, stride=self.patch_size)  # (B, nin*p*p, n*n)
        return self.embed(cols.transpose(1, 2))  # (B, n*n, nout)
