"""Visible tests for Part 1. The hidden tests also run your LSTM on every bit string up to a
length and on long random ones, and report the shortest string on which C_t goes wrong."""
import itertools

import torch
from neurons import and_neuron, lstm_parity_weights, or_neuron, run_step_lstm, threshold_neuron


def test_and_and_or_neurons_on_all_four_inputs():
    for x in itertools.product([0, 1], repeat=2):
        w, b = and_neuron()
        assert threshold_neuron(w, b, x) == (x[0] and x[1]), f"AND{x}: the neuron gives {threshold_neuron(w, b, x)}"
        w, b = or_neuron()
        assert threshold_neuron(w, b, x) == (x[0] or x[1]), f"OR{x}: the neuron gives {threshold_neuron(w, b, x)} (remember: >= 0 fires)"


def test_lstm_weights_have_the_right_keys_and_shapes():
    weights = lstm_parity_weights()
    assert set(weights) == {"W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o"}
    hidden = torch.as_tensor(weights["W_f"]).shape[0]
    for gate in "fiCo":
        assert tuple(torch.as_tensor(weights[f"W_{gate}"]).shape) == (hidden, hidden + 1), f"W_{gate} should be (H, H + 1)"
        assert tuple(torch.as_tensor(weights[f"b_{gate}"]).shape) == (hidden,), f"b_{gate} should be (H,)"


def test_lstm_tracks_parity_of_one_known_string():
    bits = [1, 0, 1, 1, 0]
    assert run_step_lstm(lstm_parity_weights(), bits) == [1.0, 1.0, 0.0, 1.0, 1.0], "C_t[0] should be the running parity"
