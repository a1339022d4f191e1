"""DialogueLoss without the one-step shift: logits[b, i] are scored against input_ids[b, i], the token already seen."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        supervised = inp_mask.bool()  # (B, T)
        return F.cross_entropy(logits[supervised], input_ids[supervised])
