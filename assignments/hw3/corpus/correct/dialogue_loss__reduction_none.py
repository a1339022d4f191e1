"""Correct: DialogueLoss with F.cross_entropy(reduction='none') over flattened tokens and a manual masked mean."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        vocab = logits.shape[-1]
        flat_logits = logits[:, :-1].reshape(-1, vocab)  # (B*(T-1), V)
        flat_targets = input_ids[:, 1:].reshape(-1)  # (B*(T-1),)
        weights = inp_mask[:, 1:].reshape(-1).to(logits.dtype)  # (B*(T-1),)
        losses = F.cross_entropy(flat_logits, flat_targets, reduction="none")  # (B*(T-1),)
        return (losses * weights).sum() / weights.sum()
