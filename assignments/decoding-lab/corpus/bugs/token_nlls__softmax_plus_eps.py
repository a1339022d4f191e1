"""-log(softmax + 1e-9): guarded against log 0, but the constant swamps probabilities below
~1e-7 (tokens 15 or more logits below the best), which only tables with large gaps show."""


def token_nlls(model, tokenizer, text):
    input_ids = tokenizer(text, return_tensors="pt").input_ids
    probs = torch.softmax(model(input_ids).logits[0, :-1], dim=-1)
    picked = probs.gather(1, input_ids[0, 1:].unsqueeze(1)).squeeze(1)
    return -torch.log(picked + 1e-9)
