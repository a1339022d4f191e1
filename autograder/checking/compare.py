"""Comparisons made in the trusted process, with messages a student can act on.

Every message has the form ``what=<what came back>, but should be <expected> [call]`` and
compares in a fixed order: type first, then shape, then values.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch

from autograder.sandbox import wire


class CheckFailed(AssertionError):
    """A property did not hold; the message says what was called, expected and returned."""


def type_name(value: Any) -> str:
    if isinstance(value, wire.Opaque):
        return value.type_name
    if isinstance(value, wire.Handle):
        return value.type_name
    if isinstance(value, torch.Tensor):
        return "torch.Tensor"
    if isinstance(value, np.ndarray):
        return "numpy.ndarray"
    return type(value).__name__


def _values(array: np.ndarray, limit: int = 8) -> str:
    flat = array.reshape(-1)
    shown = np.array2string(flat[:limit], precision=4, separator=", ", max_line_width=10_000)
    return shown[:-1] + ", ...]" if flat.size > limit else shown


def fail(message: str) -> None:
    raise CheckFailed(message)


def expect_type(value: Any, kinds: Sequence[type], what: str, call: str) -> None:
    if not any(type(value) is kind for kind in kinds):
        wanted = " or ".join(k.__name__ if k is not torch.Tensor else "torch.Tensor" for k in kinds)
        fail(f"type({what})={type_name(value)}, but should be {wanted} [{call}]")


def expect_tensor(
    got: Any,
    expected: torch.Tensor,
    what: str,
    call: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
) -> None:
    """``got`` must be a tensor of ``expected``'s shape whose values are close to it."""
    expect_type(got, [torch.Tensor], what, call)
    if tuple(got.shape) != tuple(expected.shape):
        fail(f"{what}.shape={tuple(got.shape)}, but should be {tuple(expected.shape)} [{call}]{_hint(hint)}")
    a = got.detach().to(torch.float64).numpy()
    b = expected.detach().to(torch.float64).numpy()
    # An expected NaN is matched by a NaN (and only by one); a NaN where a number is expected differs.
    bad = ~np.isclose(a, b, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        difference = np.abs(a - b)
        finite = difference[np.isfinite(difference)]
        largest = f"max |difference| {finite.max():.3g}" if finite.size else "no finite difference"
        nans = int((np.isnan(a) & ~np.isnan(b)).sum())
        extra = f"; {nans} values are NaN where a number is expected" if nans else ""
        fail(
            f"{what}{list(index)}={a[index]:.6g}, but should be {b[index]:.6g} "
            f"({int(bad.sum())} of {bad.size} values differ; {largest}{extra}) [{call}]\n"
            f"  got:      {_values(a)}\n  expected: {_values(b)}{_hint(hint)}"
        )


def expect_equal(got: Any, expected: Any, what: str, call: str, hint: str = "") -> None:
    if type(got) is not type(expected):
        fail(f"type({what})={type_name(got)}, but should be {type(expected).__name__} [{call}]{_hint(hint)}")
    if got != expected and not (_is_nan(got) and _is_nan(expected)):
        fail(f"{what}={_short(got)}, but should be {_short(expected)} [{call}]{_hint(hint)}")


def expect(condition: bool, message: str, hint: Optional[str] = None) -> None:
    if not condition:
        fail(message + _hint(hint or ""))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _hint(hint: str) -> str:
    return f"\n  hint: {hint}" if hint else ""
