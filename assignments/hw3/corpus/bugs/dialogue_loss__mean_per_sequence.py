"""DialogueLoss that averages within each sequence first and then over the batch, over-weighting short lines."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        predictions = logits[:, :-1]  # (B, T-1, V)
        targets = input_ids[:, 1:]  # (B, T-1)
        supervised = inp_mask[:, 1:].float()  # (B, T-1)
        per_token = F.cross_entropy(predictions.transpose(1, 2), targets, reduction="none")  # (B, T-1)
        per_sequence = (per_token * supervised).sum(dim=1) / supervised.sum(dim=1)  # (B,)
        return per_sequence.mean()
