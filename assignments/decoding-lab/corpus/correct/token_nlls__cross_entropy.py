"""F.cross_entropy with reduction="none" on the shifted logits, in float64, calling the model
with keyword arguments as **inputs."""


def token_nlls(model, tokenizer, text):
    inputs = tokenizer(text, return_tensors="pt")
    logits = model(**inputs).logits.double()
    return F.cross_entropy(logits[0, :-1], inputs["input_ids"][0, 1:], reduction="none")
