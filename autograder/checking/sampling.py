"""What every sampler's checks share: reading a drawn token, the plain-int rule, and the
frequency test's bound.

Frequencies are tested token by token against Binomial(n, q) with the Chernoff bound
P(n KL(q_hat || q) >= L) <= 2 exp(-L). With ``checks`` such comparisons in a problem (every token
of every example, Bonferroni), ``kl_limit(checks, false_failure)`` is the L at which a correct
sampler fails any of them with probability below ``false_failure``.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from autograder.checking.compare import expect, fail, type_name


def bernoulli_kl(a: float, b: float) -> float:
    """KL(Bernoulli(a) || Bernoulli(b)); infinite when b is 0 or 1 and a is not."""
    total = 0.0
    for x, y in ((a, b), (1 - a, 1 - b)):
        if x > 0:
            total += x * math.log(x / y) if y > 0 else math.inf
    return total


def kl_limit(checks: int, false_failure: float) -> float:
    """The bound L on n KL(q_hat || q) that ``checks`` comparisons of a correct sampler all stay
    under, except with probability below ``false_failure``."""
    return math.log(2 * checks / false_failure)


def as_token(value: object, vocab: int, call: str) -> int:
    """The token id, also from a one-element integer tensor or a numpy integer: the return type
    has a check of its own (``expect_int_token``), here only the sampling is judged."""
    if type(value) is int:
        token = value
    elif isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point() and value.dtype != torch.bool:
        token = int(value.reshape(-1)[0])
    elif isinstance(value, (np.integer, np.ndarray)) and np.size(value) == 1 and np.issubdtype(np.asarray(value).dtype, np.integer):
        token = int(np.asarray(value).reshape(-1)[0])
    else:
        shape = f" of shape {tuple(value.shape)}" if isinstance(value, (torch.Tensor, np.ndarray)) else ""
        dtype = f" and dtype {value.dtype}" if isinstance(value, (torch.Tensor, np.ndarray)) else ""
        fail(f"type(result)={type_name(value)}{shape}{dtype}, but should be int, a token id [{call}]")
    expect(0 <= token < vocab, f"result={token}, but should be a token id in range({vocab}) [{call}]")
    return token


def expect_int_token(value: object, vocab: int, call: str) -> None:
    """``value`` is a plain Python int in range(vocab)."""
    if type(value) is not int:
        shape = f" of shape {tuple(value.shape)}" if isinstance(value, (torch.Tensor, np.ndarray)) else ""
        fail(
            f"type(result)={type_name(value)}{shape}, but should be int [{call}]\n"
            "  hint: convert the chosen id with int(...) or .item(): a tensor or a numpy integer is not a Python int"
        )
    expect(0 <= value < vocab, f"result={value}, but should be a token id in range({vocab}) [{call}]")


def expect_torch_generator(student: Any, symbol: str, args: Sequence[Any], seed: int, times: int, call: str) -> None:
    """``times`` draws of ``symbol(*args)`` after ``torch.manual_seed(seed)`` are the same whatever
    Python's ``random`` and numpy's generators were seeded with: the sampler draws from torch's
    global generator (the spec), so that ``torch.manual_seed`` reproduces it."""
    runs = []
    for other in (seed + 1, seed + 2):
        student.seed_torch_only(seed, other)
        runs.append(student.call_repeated(symbol, times, *args))
    first, second = runs
    same = type(first) is list and type(second) is list and len(first) == len(second) == times
    same = same and all(type(a) is type(b) and repr(a) == repr(b) for a, b in zip(first, second))
    if not same:
        fail(
            f"after torch.manual_seed({seed}) the {times} draws differ when only Python's random and numpy's generators "
            f"are seeded differently, but should be the same [{call}]\n"
            "  hint: draw with torch (torch.multinomial, torch.rand, torch.distributions.Categorical), not with "
            "random.choices or numpy.random: torch.manual_seed must reproduce the draws"
        )
