"""Nucleus sampling left as the starter's placeholder: always the most likely token."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    return int(torch.argmax(logits))
