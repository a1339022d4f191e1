"""DialogueLoss that masks with inp_mask[:, :-1] (the input's mask) instead of inp_mask[:, 1:] (the target's)."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        predictions = logits[:, :-1]  # (B, T-1, V)
        targets = input_ids[:, 1:]  # (B, T-1)
        supervised = inp_mask[:, :-1].bool()  # (B, T-1)
        return F.cross_entropy(predictions[supervised], targets[supervised])
