"""OR neuron with bias 0, which is right for a strict `>` threshold but fires on (0, 0) under `>=`."""


def or_neuron():
    return [1.0, 1.0], 0.0
