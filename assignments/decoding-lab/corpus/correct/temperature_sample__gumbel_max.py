"""The Gumbel-max trick: argmax(logits / T + Gumbel noise) is a draw from softmax(logits / T)."""


def temperature_sample(logits, temperature=1.0):
    noise = -torch.log(-torch.log(torch.rand(logits.shape, dtype=torch.float64)))
    return int(torch.argmax(logits.double() / temperature + noise))
