"""Nucleus sampling that ignores p and samples from the whole softmax."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)  # (V,)
    return int(torch.multinomial(probs, num_samples=1))
