"""Parity LSTM whose candidate computes AND(h_{t-1}, x_t) instead of XOR, so the cell never tracks parity."""


def lstm_parity_weights():
    return {
        "W_f": torch.tensor([[0.0, -1.0]]),
        "b_f": torch.tensor([0.5]),
        "W_i": torch.tensor([[0.0, 1.0]]),
        "b_i": torch.tensor([0.0]),
        "W_C": torch.tensor([[1.0, 1.0]]),
        "b_C": torch.tensor([-1.5]),
        "W_o": torch.tensor([[0.0, 0.0]]),
        "b_o": torch.tensor([1.0]),
    }
