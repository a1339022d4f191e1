"""Correct: a hidden-size-2 parity LSTM whose second unit is unused and whose first unit forgets and rewrites C."""


def lstm_parity_weights():
    # Inputs are [h1, h2, x]. Unit 0 holds the parity: when x = 1 it forgets the old cell
    # and writes +1 only if the old parity (read from h1) was 0. Unit 1 stays at 0.
    return {
        # f0 = [x == 0]; f1 = 0
        "W_f": torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, 0.0]]),
        "b_f": torch.tensor([0.5, 0.0]),
        # i0 = [x == 1 and h1 == 0]; i1 = 0
        "W_i": torch.tensor([[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]),
        "b_i": torch.tensor([-0.5, 0.0]),
        # candidate0 = +1 always
        "W_C": torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        "b_C": torch.tensor([1.0, 0.0]),
        # o0 = 1 always
        "W_o": torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        "b_o": torch.tensor([1.0, 1.0]),
    }
