"""Nucleus sampling that accumulates the sorted logits instead of the probabilities to find k."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    sorted_logits, order = torch.sort(logits, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_logits, dim=-1)  # (V,)
    k = int((cumulative < p).sum()) + 1
    k = min(k, sorted_logits.numel())
    choice = torch.multinomial(torch.softmax(sorted_logits[:k], dim=-1), num_samples=1)  # (1,)
    return int(order[choice])
