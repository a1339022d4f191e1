"""Multiplies the logits by the temperature: T > 1 then sharpens and T < 1 flattens."""


def temperature_sample(logits, temperature=1.0):
    return int(torch.multinomial(torch.softmax(logits * temperature, dim=-1), 1))
