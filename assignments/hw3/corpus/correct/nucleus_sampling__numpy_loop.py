"""Correct: nucleus sampling with a float64 numpy softmax, argsort and a Python loop, drawing u from torch.rand."""
import numpy as np


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    z = logits.detach().cpu().numpy().astype(np.float64)
    w = np.exp(z - z.max())
    w = w / w.sum()
    kept, mass = [], 0.0
    for idx in np.argsort(-w, kind="stable"):
        kept.append(int(idx))
        mass += w[idx]
        if mass >= p:
            break
    weights = w[kept]
    u = torch.rand(()).item() * weights.sum()  # torch's global generator
    running = 0.0
    for idx, weight in zip(kept, weights):
        running += weight
        if u < running:
            return idx
    return kept[-1]
