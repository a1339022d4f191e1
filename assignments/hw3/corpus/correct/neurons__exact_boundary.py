"""Correct: AND with b = -2 and OR with b = -1, which put the firing inputs exactly on the `>=` boundary."""


def and_neuron():
    return (1, 1), -2


def or_neuron():
    return (1, 1), -1
