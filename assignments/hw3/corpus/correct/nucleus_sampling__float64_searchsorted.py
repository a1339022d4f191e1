"""Correct: nucleus sampling in float64 torch, k found with searchsorted, the token drawn by inverting the kept CDF."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits.to(torch.float64), dim=-1)  # (V,)
    sorted_probs, order = probs.sort(descending=True)  # (V,) each
    cumulative = sorted_probs.cumsum(dim=-1)  # (V,)
    # first index whose cumulative sum is >= p (left side), clamped for p >= 1
    k = min(int(torch.searchsorted(cumulative, torch.tensor([p], dtype=torch.float64))[0]) + 1, probs.numel())
    kept = sorted_probs[:k] / sorted_probs[:k].sum()  # (k,)
    u = torch.rand((), dtype=torch.float64)
    index = min(int(torch.searchsorted(kept.cumsum(dim=-1), u.reshape(1), right=True)[0]), k - 1)
    return order[index].item()
