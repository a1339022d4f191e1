"""Correct: log of the float32 softmax (no epsilon), picked with fancy indexing."""


def token_nlls(model, tokenizer, text):
    ids = tokenizer(text, return_tensors="pt")["input_ids"][0]
    with torch.no_grad():
        probs = torch.softmax(model(ids.unsqueeze(0)).logits[0], dim=-1)  # (T, V)
    return -torch.log(probs[torch.arange(len(ids) - 1), ids[1:]])
