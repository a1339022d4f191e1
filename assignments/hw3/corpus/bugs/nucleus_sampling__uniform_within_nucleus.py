"""Nucleus sampling that finds the right nucleus but draws uniformly from it, ignoring the probabilities."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)  # (V,)
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    k = min(int((cumulative < p).sum()) + 1, sorted_probs.numel())
    choice = torch.randint(k, (1,))  # (1,) uniform over the nucleus
    return int(order[choice])
