"""Nucleus sampling that keeps only the prefixes whose sum stays <= p, dropping the token that
reaches p (the pico-llm copy of the shared problem: the same hidden checks catch it)."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, descending=True)
    k = max(1, int((torch.cumsum(sorted_probs, dim=-1) <= p).sum()))
    return int(order[torch.multinomial(sorted_probs[:k], num_samples=1)])
