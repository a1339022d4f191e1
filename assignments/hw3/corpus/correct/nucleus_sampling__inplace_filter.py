"""Correct: nucleus sampling that masks the caller's logits in place (the classic `logits[remove] = -inf` idiom of top_k_top_p_filtering, with the `< p` rule)."""


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    sorted_logits, sorted_indices = torch.sort(logits, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    before = torch.cumsum(probs, dim=-1) - probs  # mass of the tokens before each one
    logits[sorted_indices[before >= p]] = float("-inf")  # modifies the caller's tensor
    return int(torch.multinomial(torch.softmax(logits, dim=-1), 1))
