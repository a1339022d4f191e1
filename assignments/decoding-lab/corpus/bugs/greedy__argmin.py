"""Takes the smallest logit."""


def greedy(logits):
    return int(torch.argmin(logits))
