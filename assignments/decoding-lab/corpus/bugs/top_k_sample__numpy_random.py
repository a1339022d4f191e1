"""The right distribution, drawn with numpy's generator: torch.manual_seed does not reproduce it."""
import numpy as np


def top_k_sample(logits, k):
    values, ids = torch.topk(logits, min(k, logits.numel()))
    probs = torch.softmax(values.double(), dim=-1).numpy()
    return int(ids[np.random.choice(len(probs), p=probs / probs.sum())])
