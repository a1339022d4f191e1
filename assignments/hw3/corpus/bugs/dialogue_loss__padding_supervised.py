"""DialogueLoss that shifts correctly but ignores inp_mask, so <PAD> targets are supervised too."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        predictions = logits[:, :-1]  # (B, T-1, V)
        targets = input_ids[:, 1:]  # (B, T-1)
        return F.cross_entropy(predictions.reshape(-1, predictions.shape[-1]), targets.reshape(-1))  # over (B*(T-1), V)
