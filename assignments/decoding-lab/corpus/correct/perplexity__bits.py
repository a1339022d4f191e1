"""Computes independently of token_nlls, in bits: 2 ** (mean NLL / ln 2) is exp(mean NLL)."""


def compute_perplexity(model, tokenizer, text):
    ids = tokenizer.encode(text, return_tensors="pt")
    with torch.no_grad():
        probs = torch.softmax(model(ids)[0][0], dim=-1)  # (T, V), the output indexed like a tuple
    picked = probs[torch.arange(ids.shape[1] - 1), ids[0, 1:]]
    bits = -torch.log2(picked)
    return float(2 ** bits.mean())
