"""Walks the cumulative sum of the k kept probabilities without renormalising them: the mass
of the dropped tail all goes to the last kept token."""


def top_k_sample(logits, k):
    probs, ids = torch.sort(torch.softmax(logits, dim=-1), descending=True)
    kept = probs[: min(k, probs.numel())]
    u = float(torch.rand(()))
    index = min(int((torch.cumsum(kept, dim=0) < u).sum()), kept.numel() - 1)
    return int(ids[index])
