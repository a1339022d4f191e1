"""AND neuron that returns the OR weights (copy-paste slip), so it fires on a single 1."""


def and_neuron():
    return [1.0, 1.0], -0.5
