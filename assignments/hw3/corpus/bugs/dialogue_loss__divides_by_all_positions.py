"""DialogueLoss that zeroes the padding terms but divides by all B * (T - 1) positions, padding included."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        per_token = F.cross_entropy(logits[:, :-1].transpose(1, 2), input_ids[:, 1:], reduction="none")  # (B, T-1)
        return (per_token * inp_mask[:, 1:]).mean()
