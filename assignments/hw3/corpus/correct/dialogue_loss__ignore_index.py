"""Correct: DialogueLoss that sets padding targets to -100 and lets F.cross_entropy(ignore_index=-100) skip them."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        targets = torch.where(inp_mask[:, 1:].bool(), input_ids[:, 1:], torch.full_like(input_ids[:, 1:], -100))  # (B, T-1)
        return F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=-100)  # (B, V, T-1) vs (B, T-1)
