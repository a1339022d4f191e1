"""Correct: nucleus sampling that sets the logits outside the nucleus to -inf and samples a torch Categorical."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    sorted_logits, order = logits.sort(descending=True)  # (V,) each
    probs = sorted_logits.softmax(dim=-1)  # (V,)
    mass_before = torch.cat([probs.new_zeros(1), probs.cumsum(dim=-1)[:-1]])  # (V,)
    # a token is outside the nucleus when the tokens before it already reach p
    sorted_logits = sorted_logits.masked_fill(mass_before >= p, float("-inf"))
    idx = torch.distributions.Categorical(logits=sorted_logits).sample()
    return order[idx].item()
