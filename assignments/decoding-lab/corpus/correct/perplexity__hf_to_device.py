"""Correct, written the usual Hugging Face way: the encoding moved with .to(device), the ids and
mask passed as keyword arguments, the logits read as out.logits. Independent of token_nlls."""


def compute_perplexity(model, tokenizer, text):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device)
    model.eval()
    inputs = tokenizer(text, return_tensors="pt").to(device)
    with torch.no_grad():
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs.attention_mask).logits
    shift_logits = logits[:, :-1, :]
    shift_labels = inputs.input_ids[:, 1:]
    loss = F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1))
    return torch.exp(loss).item()
