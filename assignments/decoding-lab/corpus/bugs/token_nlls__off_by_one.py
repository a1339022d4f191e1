"""The off-by-one the lab warns about: token i scored with the logits at position i (which
predict token i + 1), instead of those at i - 1."""


def token_nlls(model, tokenizer, text):
    input_ids = tokenizer(text, return_tensors="pt").input_ids
    logits = model(input_ids).logits
    log_probs = F.log_softmax(logits[0, 1:], dim=-1)  # positions 1 .. T-1
    return -log_probs.gather(1, input_ids[0, 1:].unsqueeze(1)).squeeze(1)
