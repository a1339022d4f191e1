"""Returns the mean NLL (the cross-entropy) instead of its exponential."""


def compute_perplexity(model, tokenizer, text):
    return float(token_nlls(model, tokenizer, text).mean())  # noqa: F821
