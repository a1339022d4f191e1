"""Correct: AND and OR neurons returned as torch tensors (weight vector and 0-d bias) with other valid values."""


def and_neuron():
    return torch.tensor([2.0, 3.0]), torch.tensor(-4.0)


def or_neuron():
    return torch.tensor([0.7, 0.9]), torch.tensor(-0.3)
