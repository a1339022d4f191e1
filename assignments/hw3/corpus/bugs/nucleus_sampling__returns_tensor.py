"""Nucleus sampling that returns the chosen id as a one-element tensor instead of a Python int."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)  # (V,)
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    k = int((cumulative < p).sum()) + 1
    k = min(k, sorted_probs.numel())
    choice = torch.multinomial(sorted_probs[:k], num_samples=1)  # (1,)
    return order[choice]
