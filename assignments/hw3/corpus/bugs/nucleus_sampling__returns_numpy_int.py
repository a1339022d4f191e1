"""Nucleus sampling in numpy that returns the chosen id as a numpy integer instead of a Python int."""
import numpy as np


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits.double(), dim=-1).numpy()  # (V,)
    order = np.argsort(-probs, kind="stable")  # (V,)
    cumulative = np.cumsum(probs[order])  # (V,)
    k = min(int((cumulative < p).sum()) + 1, len(order))
    kept = probs[order[:k]]
    u = torch.rand(()).item() * kept.sum()  # torch's global generator
    return order[min(int(np.searchsorted(np.cumsum(kept), u, side="right")), k - 1)]
