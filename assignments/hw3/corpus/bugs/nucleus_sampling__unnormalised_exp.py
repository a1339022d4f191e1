"""Nucleus sampling that takes exp(logits) as the probabilities without normalising them (right only if the logits are log-probabilities)."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.exp(logits)  # (V,) not a distribution unless logsumexp(logits) == 0
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    k = min(int((cumulative < p).sum()) + 1, sorted_probs.numel())
    choice = torch.multinomial(sorted_probs[:k], num_samples=1)  # (1,)
    return int(order[choice])
