"""Correct: DialogueLoss via log_softmax + gather, marking padding targets -100 and averaging over the rest."""


class DialogueLoss(nn.Module):
    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
        targets = input_ids[:, 1:].masked_fill(inp_mask[:, 1:] == 0, -100)  # (B, T-1)
        keep = targets != -100
        picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T-1)
        return -(picked[keep]).sum() / keep.sum()
