"""Nucleus sampling that returns the position in the sorted order instead of mapping it back to the token id."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)  # (V,)
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    k = min(int((cumulative < p).sum()) + 1, sorted_probs.numel())
    choice = torch.multinomial(sorted_probs[:k], num_samples=1)  # (1,)
    return int(choice)
