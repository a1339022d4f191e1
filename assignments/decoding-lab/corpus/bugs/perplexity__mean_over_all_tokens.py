"""Divides the total NLL by T, the number of tokens, instead of T - 1, the number predicted."""


def compute_perplexity(model, tokenizer, text):
    nlls = token_nlls(model, tokenizer, text)  # noqa: F821
    return math.exp(float(nlls.sum()) / (nlls.numel() + 1))
