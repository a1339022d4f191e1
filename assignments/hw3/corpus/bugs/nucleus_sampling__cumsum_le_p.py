"""Nucleus sampling that counts the prefixes with cumsum <= p, keeping one token too few (at least one)."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)  # (V,)
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    k = max(1, int((cumulative <= p).sum()))
    k = min(k, sorted_probs.numel())
    choice = torch.multinomial(sorted_probs[:k], num_samples=1)  # (1,)
    return int(order[choice])
