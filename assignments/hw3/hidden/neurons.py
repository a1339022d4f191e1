"""Hidden tests for Part 1: the AND / OR threshold neurons and the hand-wired parity LSTM.

The submission is called once per example and only returns numbers: ``(w, b)`` for a neuron, a
dict of weights for the LSTM. Everything else runs here, in the trusted process, in float64:
the neuron's ``f(x) = 1 if w.x + b >= 0 else 0`` exactly as the handout's ``threshold_neuron``
computes it, and the LSTM with the handout's step functions exactly as ``run_step_lstm`` does.

The parity check is a breadth-first search over the LSTM's reachable states (h, C, parity): it
covers every bit string up to ``EXHAUSTIVE_BITS`` bits, reports the shortest failing string
(and, among those, the first in binary order), and when no new state appears it has covered
every bit string of every length.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checking.compare import expect, fail, type_name
from autograder.checking.registry import Checks, Context
from autograder.sandbox import wire

checks = Checks()

INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))


# -------------------------------------------------------------------------------------------
# AND / OR neurons


def _number(value: object) -> Optional[float]:
    """A plain number, a numpy scalar or a one-element tensor/array as a float; None otherwise."""
    if type(value) in (int, float, bool):
        return float(value)
    if isinstance(value, np.generic) and (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.reshape(-1)[0])
    if isinstance(value, np.ndarray) and value.size == 1:
        return float(value.reshape(-1)[0])
    return None


def _neuron(result: object, call: str) -> Tuple[List[float], float]:
    """``(w, b)`` as two Python floats and a float, or a failure saying what is wrong with it."""
    expect(
        type(result) in (tuple, list),
        f"type(result)={type_name(result)}, but should be tuple (a pair (w, b)) [{call}]",
    )
    expect(len(result) == 2, f"len(result)={len(result)}, but should be 2: the pair (w, b) [{call}]")
    w, b = result
    if isinstance(w, (torch.Tensor, np.ndarray)):
        size = w.numel() if isinstance(w, torch.Tensor) else w.size
        expect(size == 2, f"w.shape={tuple(w.shape)}, but should be (2,): one weight per input [{call}]")
        weights = [float(v) for v in w.reshape(-1).tolist()]
    elif type(w) in (tuple, list):
        expect(len(w) == 2, f"len(w)={len(w)}, but should be 2: one weight per input [{call}]")
        weights = [_number(v) for v in w]
        for i, v in enumerate(weights):
            expect(v is not None, f"type(w[{i}])={type_name(w[i])}, but should be a number [{call}]")
    else:
        fail(f"type(w)={type_name(w)}, but should be a list, tuple or tensor of 2 numbers [{call}]")
    bias = _number(b)
    if bias is None:
        shape = f" of shape {tuple(b.shape)}" if isinstance(b, (torch.Tensor, np.ndarray)) else ""
        fail(f"type(b)={type_name(b)}{shape}, but should be a number (or a one-element tensor) [{call}]")
    return weights, bias


def _fires(weights: Sequence[float], bias: float, x: Sequence[int]) -> Tuple[int, float]:
    """The handout's threshold_neuron, in float64: (f(x), w.x + b)."""
    total = sum(wi * float(xi) for wi, xi in zip(weights, x)) + bias
    return (1 if total >= 0 else 0), total


def _check_gate(ctx: Context, symbol: str, gate: str, truth) -> None:
    def body(_: None) -> None:
        call = f"w, b = {symbol}()"
        weights, bias = _neuron(ctx.student.call(symbol), call)
        rows = [(x, *_fires(weights, bias, x), truth(*x)) for x in INPUTS]
        wrong = [row for row in rows if row[1] != row[3]]
        if not wrong:
            return
        x, got, total, want = wrong[0]
        terms = " + ".join(f"{wi:g}*{xi}" for wi, xi in zip(weights, x))
        table = "  ".join(f"f{xx}={g}" for xx, g, _, _ in rows)
        truths = "  ".join(f"{xx[0]} {gate} {xx[1]}={t}" for xx, _, _, t in rows)
        relation = ">= 0, so the neuron fires" if got else "< 0, so the neuron stays off"
        if total == 0 and want == 0:
            hint = "the neuron fires when w·x + b >= 0, so a sum of exactly 0 fires too: inputs that must give 0 need w·x + b < 0"
        elif want == 1:
            hint = f"inputs where x1 {gate} x2 is 1 need w·x + b >= 0"
        else:
            hint = f"inputs where x1 {gate} x2 is 0 need w·x + b < 0"
        fail(
            f"f{x}={got}, but should be {want} = {x[0]} {gate} {x[1]}: w·x + b = {terms} + ({bias:g}) = {total:g} {relation} "
            f"[{call}; f(x) = 1 if w·x + b >= 0 else 0]\n"
            f"  got:      {table}\n  expected: {truths}\n  hint: {hint}"
        )

    ctx.forall(st.just(None), body, max_examples=1)


@checks.add("neurons", "and_neuron(): f(x) = 1 if w·x + b >= 0 else 0 equals x1 AND x2 on all four inputs")
def and_gate(ctx: Context) -> None:
    _check_gate(ctx, "and_neuron", "AND", lambda a, b: a & b)


@checks.add("neurons", "or_neuron(): f(x) = 1 if w·x + b >= 0 else 0 equals x1 OR x2 on all four inputs")
def or_gate(ctx: Context) -> None:
    _check_gate(ctx, "or_neuron", "OR", lambda a, b: a | b)


# -------------------------------------------------------------------------------------------
# Parity LSTM

KEYS = ("W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o")
CALL = "weights = lstm_parity_weights()"
EXHAUSTIVE_BITS = 12  # every bit string up to this length (at most 2**12 states per level)
LONG_BITS = 40


def _as_float64(value: object, key: str) -> torch.Tensor:
    if isinstance(value, (wire.Opaque, wire.Handle)) or value is None or type(value) is str:
        fail(f"type(weights[{key!r}])={type_name(value)}, but should be torch.Tensor (or an array / nested list of numbers) [{CALL}]")
    try:
        if isinstance(value, np.ndarray):
            return torch.from_numpy(np.asarray(value, dtype=np.float64))
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        fail(f"weights[{key!r}] cannot be read as numbers ({type(exc).__name__}: {str(exc)[:120]}), but should be a tensor [{CALL}]")
    raise AssertionError("unreachable")


def _lstm_weights(ctx: Context) -> Dict[str, torch.Tensor]:
    """Call the submission once and validate the dict: keys, then shapes (H, H+1) and (H,)."""
    result = ctx.student.call("lstm_parity_weights")
    expect(type(result) is dict, f"type(weights)={type_name(result)}, but should be dict [{CALL}]")
    missing = [k for k in KEYS if k not in result]
    expect(
        not missing,
        f"weights has no key(s) {', '.join(map(repr, missing))}, but should have all of {' '.join(KEYS)} "
        f"(keys present: {', '.join(map(repr, list(result)[:10]))}) [{CALL}]",
    )
    params = {k: _as_float64(result[k], k) for k in KEYS}
    w_f = params["W_f"]
    expect(
        w_f.dim() == 2 and w_f.shape[0] >= 1 and w_f.shape[1] == w_f.shape[0] + 1,
        f"weights['W_f'].shape={tuple(w_f.shape)}, but should be (H, H + 1) for a hidden size H >= 1: "
        f"each W acts on the concatenation [h_(t-1), x_t] [{CALL}]",
    )
    hidden = int(w_f.shape[0])
    for key in KEYS:
        want = (hidden, hidden + 1) if key.startswith("W") else (hidden,)
        got = tuple(params[key].shape)
        expect(
            got == want,
            f"weights[{key!r}].shape={got}, but should be {want} (H = {hidden}, from W_f) [{CALL}]",
            "every bias is a vector of shape (H,), e.g. torch.tensor([0.0]) for H = 1, not a plain number" if not key.startswith("W") and got == () else None,
        )
    return params


def _step(params: Dict[str, torch.Tensor], h: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    """One step for a batch: h, c (N, H), x (N,) bits. The handout's equations and step functions."""
    z = torch.cat([h, x[:, None]], dim=1)  # (N, H + 1) = [h_(t-1), x_t]

    def affine(name: str) -> torch.Tensor:
        return z @ params[f"W_{name}"].T + params[f"b_{name}"]  # (N, H)

    f = (affine("f") > 0).to(torch.float64)  # sigma(z) = 1 if z > 0 else 0
    i = (affine("i") > 0).to(torch.float64)
    c_tilde = torch.sign(affine("C"))  # tanh(z) = sign(z), sign(0) = 0
    o = (affine("o") > 0).to(torch.float64)
    c_new = f * c + i * c_tilde
    h_new = o * torch.sign(c_new)
    return {"f": f, "i": i, "C~": c_tilde, "o": o, "C": c_new + 0.0, "h": h_new + 0.0}  # + 0.0: no -0.0


def _run(params: Dict[str, torch.Tensor], bits: Sequence[int]) -> List[Dict[str, torch.Tensor]]:
    hidden = params["W_f"].shape[0]
    h = torch.zeros(1, hidden, dtype=torch.float64)
    c = torch.zeros(1, hidden, dtype=torch.float64)
    trace = []
    for bit in bits:
        step = _step(params, h, c, torch.tensor([float(bit)], dtype=torch.float64))
        h, c = step["h"], step["C"]
        trace.append({k: v[0] for k, v in step.items()})
    return trace


def _first_wrong(trace: List[Dict[str, torch.Tensor]], bits: Sequence[int]) -> Optional[int]:
    parity = 0
    for t, (step, bit) in enumerate(zip(trace, bits)):
        parity ^= int(bit)
        if not float(step["C"][0]) == parity:
            return t
    return None


def _show(v: torch.Tensor) -> str:
    items = [f"{float(a):g}" for a in v]
    return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"


def _explain(params: Dict[str, torch.Tensor], bits: Sequence[int], context: str) -> None:
    """Fail with the step table of ``bits``, which goes wrong first at its last step."""
    trace = _run(params, bits)
    bad = _first_wrong(trace, bits)
    assert bad is not None
    bits = list(bits)[: bad + 1]
    trace = trace[: bad + 1]
    parities = np.cumsum(bits) % 2
    text = " ".join(str(int(b)) for b in bits)
    got = float(trace[-1]["C"][0])
    header = ["t", "x_t", "f_t", "i_t", "C~_t", "o_t", "C_t", "h_t", "parity"]
    rows = [
        [str(t + 1), str(int(b))] + [_show(s[k]) for k in ("f", "i", "C~", "o", "C", "h")] + [str(int(par))]
        for t, (b, s, par) in enumerate(zip(bits, trace, parities))
    ]
    widths = [max(len(r[j]) for r in rows + [header]) for j in range(len(header))]
    lines = ["    " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header] + rows]
    if len(lines) > 14:  # long strings: the start and the steps leading to the wrong one
        lines = lines[:3] + [f"    ... ({len(lines) - 13} steps not shown)"] + lines[-10:]
    table = "\n".join(lines)
    # Was C ever non-zero while the next step saw h = 0? Then the output gate hid the parity.
    hidden_c = any(float(s["C"][0]) != 0 and float(s["h"][0]) == 0 for s in trace[:-1])
    if hidden_c:
        hint = (
            "h_t = o_t * tanh(C_t) is all the next step sees of the cell, and here h_t[0] = 0 while C_t[0] != 0: "
            "the output gate is closed (the handout's sigma(z) is 1 only for z > 0, so sigma(0) = 0)"
        )
    else:
        hint = (
            "after x_t = 1 the cell must become 1 - C_(t-1) (XOR with the bit), after x_t = 0 it must keep C_(t-1); "
            "remember that sigma(0) = 0 and tanh(0) = sign(0) = 0 in the handout's step functions"
        )
    fail(
        f"C_{len(bits)}[0]={got:g}, but should be {int(parities[-1])}, the parity of x = {text} "
        f"({context}; the first step that goes wrong is t = {len(bits)}) "
        f"[{CALL}; run the LSTM from h_0 = C_0 = 0 on x = {text}]\n"
        f"  the LSTM step by step:\n{table}\n  hint: {hint}"
    )


def _key(h: torch.Tensor, c: torch.Tensor, parity: torch.Tensor) -> bytes:
    return torch.cat([h, c, parity[:, None]], dim=1).numpy().tobytes()


@checks.add("lstm_parity", "lstm_parity_weights() returns W_f b_f W_i b_i W_C b_C W_o b_o of shapes (H, H+1) and (H,)")
def lstm_shapes(ctx: Context) -> None:
    ctx.forall(st.just(None), lambda _: _lstm_weights(ctx), max_examples=1)


@checks.add(
    "lstm_parity",
    f"C_t[0] equals the parity of x_1..x_t after every step, on every bit string of up to {EXHAUSTIVE_BITS} bits",
    weight=2,
)
def lstm_parity_exhaustive(ctx: Context) -> None:
    def body(_: None) -> None:
        params = _lstm_weights(ctx)
        hidden = params["W_f"].shape[0]
        # The frontier: states (h, C, parity) first reached at this length, each with the first
        # bit string (in binary order) that reaches it. A state seen before needs no second visit:
        # whatever fails after it fails sooner after its first visit.
        h = torch.zeros(1, hidden, dtype=torch.float64)
        c = torch.zeros(1, hidden, dtype=torch.float64)
        parity = torch.zeros(1, dtype=torch.float64)
        strings: List[Tuple[int, ...]] = [()]
        seen = {_key(h, c, parity)}
        for _length in range(EXHAUSTIVE_BITS):
            n = len(strings)
            x = torch.tensor([0.0, 1.0], dtype=torch.float64).repeat(n)  # (2N,): each string + 0, then + 1
            step = _step(params, h.repeat_interleave(2, dim=0), c.repeat_interleave(2, dim=0), x)
            new_parity = (parity.repeat_interleave(2) + x) % 2
            longer = [s + (b,) for s in strings for b in (0, 1)]
            wrong = (step["C"][:, 0] != new_parity).nonzero()
            if len(wrong):
                _explain(params, longer[int(wrong[0, 0])], "the shortest bit string on which the cell goes wrong")
            keep = []
            rows = torch.cat([step["h"], step["C"], new_parity[:, None]], dim=1).numpy()
            for j in range(rows.shape[0]):
                key = rows[j].tobytes()
                if key not in seen:
                    seen.add(key)
                    keep.append(j)
            if not keep:
                return  # no new state: every bit string of every length has been covered
            index = torch.tensor(keep)
            h, c, parity = step["h"][index], step["C"][index], new_parity[index]
            strings = [longer[j] for j in keep]

    ctx.forall(st.just(None), body, max_examples=1)


@checks.add("lstm_parity", f"C_t[0] equals the parity of x_1..x_t after every step, on random bit strings of up to {LONG_BITS} bits")
def lstm_parity_long(ctx: Context) -> None:
    def body(bits: List[int]) -> None:
        params = _lstm_weights(ctx)
        if _first_wrong(_run(params, bits), bits) is not None:
            _explain(params, bits, "on a random bit string, cut after the first wrong step")

    ctx.forall(st.lists(st.integers(0, 1), min_size=EXHAUSTIVE_BITS + 1, max_size=LONG_BITS), body)
