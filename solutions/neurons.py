"""Part 1: threshold neurons for AND / OR, and a hand-wired LSTM that tracks parity.

A threshold neuron outputs 1 if w.x + b >= 0 and 0 otherwise (note the ``>=``).
The LSTM uses the handout's step nonlinearities: sigma(z) = 1 if z > 0 else 0 and
tanh(z) = sign(z). Weight matrices act on the concatenation [h_{t-1}, x_t].
"""
from typing import Dict, List, Sequence, Tuple

import torch


def threshold_neuron(w: Sequence[float], b: float, x: Sequence[float]) -> int:
    """Given: evaluate f(x) = 1 if w.x + b >= 0 else 0 for one input ``x``."""
    total = sum(float(wi) * float(xi) for wi, xi in zip(w, x)) + float(b)
    return 1 if total >= 0 else 0


def and_neuron() -> Tuple[List[float], float]:
    """Return ``(w, b)`` such that ``threshold_neuron(w, b, x)`` is x1 AND x2 on {0, 1}^2."""
    ### BEGIN SOLUTION
    # w.x counts the ones in x; only (1, 1) reaches 2, so put the boundary halfway
    # between 1 and 2. A margin of 0.5 keeps every input clear of the ">=" tie.
    return [1.0, 1.0], -1.5
    ### END SOLUTION


def or_neuron() -> Tuple[List[float], float]:
    """Return ``(w, b)`` such that ``threshold_neuron(w, b, x)`` is x1 OR x2 on {0, 1}^2."""
    ### BEGIN SOLUTION
    # Fire as soon as one input is on: the boundary sits between 0 and 1 ones. A bias
    # of 0 would not do: (0, 0) gives 0 >= 0 and the neuron would fire.
    return [1.0, 1.0], -0.5
    ### END SOLUTION


def step_sigmoid(z: torch.Tensor) -> torch.Tensor:
    """Given: the handout's hard gate, 1 where z > 0 and 0 elsewhere."""
    return (z > 0).to(z.dtype)


def step_tanh(z: torch.Tensor) -> torch.Tensor:
    """Given: the handout's hard tanh, the sign of z (with sign(0) = 0)."""
    return torch.sign(z)


def run_step_lstm(weights: Dict[str, torch.Tensor], bits: Sequence[int]) -> List[float]:
    """Given: run the hard-gated LSTM over ``bits`` from h_0 = C_0 = 0.

    Returns C_t[0] after every step t = 1..len(bits); for a correct parity LSTM this is
    the running parity of the bits. Use it to check your weights.
    """
    params = {name: torch.as_tensor(value, dtype=torch.float64) for name, value in weights.items()}
    hidden = params["W_f"].shape[0]
    h = torch.zeros(hidden, dtype=torch.float64)
    c = torch.zeros(hidden, dtype=torch.float64)
    cells = []
    for bit in bits:
        z = torch.cat([h, torch.tensor([float(bit)], dtype=torch.float64)])  # (H + 1,)
        f = step_sigmoid(params["W_f"] @ z + params["b_f"])  # (H,) forget gate
        i = step_sigmoid(params["W_i"] @ z + params["b_i"])  # (H,) input gate
        c_tilde = step_tanh(params["W_C"] @ z + params["b_C"])  # (H,) candidate
        o = step_sigmoid(params["W_o"] @ z + params["b_o"])  # (H,) output gate
        c = f * c + i * c_tilde
        h = o * step_tanh(c)
        cells.append(float(c[0]))
    return cells


def lstm_parity_weights() -> Dict[str, torch.Tensor]:
    """Return LSTM weights whose cell state C_t[0] is the parity of x_1..x_t.

    Keys ``W_f b_f W_i b_i W_C b_C W_o b_o``; each ``W`` has shape (H, H + 1) and acts on
    [h_{t-1}, x_t]; each ``b`` has shape (H,). Any hidden size H >= 1 is allowed.
    """
    ### BEGIN SOLUTION
    # Hidden size 1, with the cell holding the parity C in {0, 1}.
    # - Output gate always open, so h_t = sign(C_t) = C_t: the next step can read C.
    # - Forget gate always open, so a 0 bit leaves C unchanged.
    # - Input gate open exactly when x_t = 1; the candidate is then 1 - 2 * C_{t-1}
    #   (+1 when C was 0, -1 when C was 1), so C + candidate = 1 - C: XOR with the bit.
    #   sign(-2 h + x) gives +1 for (h, x) = (0, 1) and -1 for (1, 1).
    weights = {
        "W_f": torch.tensor([[0.0, 0.0]]),
        "b_f": torch.tensor([1.0]),
        "W_i": torch.tensor([[0.0, 1.0]]),
        "b_i": torch.tensor([0.0]),
        "W_C": torch.tensor([[-2.0, 1.0]]),
        "b_C": torch.tensor([0.0]),
        "W_o": torch.tensor([[0.0, 0.0]]),
        "b_o": torch.tensor([1.0]),
    }
    ### END SOLUTION
    return weights
