"""Nucleus sampling that keeps a token when the sum before it is <= p, so an exact tie at p keeps k + 1 tokens."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)  # (V,)
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    # keep a token while the mass before it is <= p (a sorted-then-shifted "remove > p" mask)
    before = torch.cat([cumulative.new_zeros(1), cumulative[:-1]])  # (V,)
    k = int((before <= p).sum())
    choice = torch.multinomial(sorted_probs[:k], num_samples=1)  # (1,)
    return int(order[choice])
