"""Nucleus sampling that renormalises the kept probabilities with a second softmax (flattening them) instead of dividing by their sum."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)  # (V,)
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    k = min(int((cumulative < p).sum()) + 1, sorted_probs.numel())
    kept = torch.softmax(sorted_probs[:k], dim=-1)  # softmax of probabilities, not p_i / sum
    choice = torch.multinomial(kept, num_samples=1)  # (1,)
    return int(order[choice])
