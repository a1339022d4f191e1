"""Hidden tests for Part 3: RMSNorm(dim, eps=1e-5).

Differential against ``torch.nn.RMSNorm(dim, eps=eps)`` with the same (random) weight, over
inputs of several magnitudes (tiny inputs are where eps matters, so eps outside the square root
shows there), plus the interface (one parameter, the gain, starting at ones) and two
properties of the definition: scale invariance for inputs far above eps, and oddness, and that
every vector is normalised on its own (a NaN in one vector stays in that vector: a norm that
mixes the batch spreads it). The gain is found by shape, not by name: the one parameter of shape
(dim,) is the gain whether it is called ``weight``, ``scale`` or ``gain``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Tuple

import hypothesis
import torch
from hypothesis import strategies as st

from autograder.checking.compare import expect_tensor, expect_type, fail
from autograder.checking.models import gain
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, generator_text, named, randn

checks = Checks()

SYMBOL = "RMSNorm"


@dataclass(frozen=True)
class Case:
    dim: int
    lead: Tuple[int, ...]  # the leading axes of x
    eps: float
    magnitude: float
    seed: int

    def x(self) -> torch.Tensor:
        shape = (*self.lead, self.dim)
        return named(randn(self.seed, *shape) * self.magnitude, f"torch.randn({shape}, {generator_text(self.seed)}) * {self.magnitude}")

    def weight(self) -> torch.Tensor:
        return randn(self.seed + 1, self.dim)

    def new_text(self) -> str:
        return f"{SYMBOL}({self.dim}, eps={self.eps})"


@st.composite
def cases(draw: st.DrawFn, magnitudes=(1e-3, 0.1, 1.0, 30.0), epsilons=(1e-5, 1e-6, 1e-2, 0.5)) -> Case:
    return Case(
        dim=draw(st.integers(1, 8)),
        lead=tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))),
        eps=draw(st.sampled_from(epsilons)),
        magnitude=draw(st.sampled_from(magnitudes)),
        seed=draw(st.integers(0, MAX_SEED)),
    )


def _new(ctx: Context, case: Case):
    return ctx.student.new(SYMBOL, case.dim, eps=case.eps)


@checks.add("rmsnorm", "one learnable parameter, the gain, of shape (dim,), initialised to ones (no bias)")
def parameters(ctx: Context) -> None:
    def body(case: Case) -> None:
        norm = _new(ctx, case)
        where = f"{norm.name} = {case.new_text()}; dict({norm.name}.named_parameters())"
        params = norm.parameters()
        name, note = gain(norm, case.dim, params)
        extra = sorted(k for k in params if k != name)
        if extra:
            fail(
                f"{norm.name} has parameters {sorted(params)}, but should have only the gain {name!r}{note} [{where}]\n"
                "  hint: RMSNorm has no bias (and no running statistics): x / sqrt(mean(x**2) + eps) * weight"
            )
        expect_tensor(params[name], torch.ones(case.dim), f"{norm.name}.{name}", where, atol=0, rtol=0, hint="the gain starts at ones")

    ctx.forall(cases(), body, max_examples=2)


def _load_gain(norm, case: Case, weight: torch.Tensor) -> Tuple[str, str]:
    """Load ``weight`` into the norm's gain, whatever its name (every other parameter, which a
    correct RMSNorm does not have, gets seeded nonzero values); the reproducer's text and a note
    on what was assumed."""
    params = norm.parameters(shapes_only=True)
    name, note = gain(norm, case.dim, params)
    state = {key: (weight if key == name else randn(case.seed + 2 + i, *value.shape)) for i, (key, value) in enumerate(params.items())}
    norm.load_state_dict(state, strict=False)
    return f"{norm.name}.load_state_dict({{{name!r}: w}})", note


def _hint(got: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, eps: float) -> str:
    """Name the usual mistakes when the output matches one of them."""
    if got.shape != x.shape:
        return "normalise over the last axis only; the output has the input's shape"
    centred = x - x.mean(dim=-1, keepdim=True)
    variants = {
        "the mean was subtracted (that is LayerNorm): RMSNorm divides by the root mean square without centring": centred
        * torch.rsqrt(centred.pow(2).mean(-1, keepdim=True) + eps)
        * weight,
        "eps belongs inside the square root: x / sqrt(mean(x**2) + eps)": x / (x.pow(2).mean(-1, keepdim=True).sqrt() + eps) * weight,
        "use the mean of x**2 over the last axis, not the sum (that is the L2 norm)": x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True) + eps) * weight,
    }
    for text, value in variants.items():
        if torch.allclose(got, value, atol=1e-5, rtol=1e-4):
            return text
    return "x / sqrt(mean(x**2 over the last axis) + eps) * weight"


@checks.add("rmsnorm", "equals torch.nn.RMSNorm(dim, eps=eps) with the same weight, for inputs tiny to large", weight=2)
def differential(ctx: Context) -> None:
    def body(case: Case) -> None:
        norm = _new(ctx, case)
        weight, x = case.weight(), case.x()
        loaded, note = _load_gain(norm, case, weight)
        reference = torch.nn.RMSNorm(case.dim, eps=case.eps)
        with torch.no_grad():
            reference.weight.copy_(weight)
            want = reference(x)
        call = f"{norm.name} = {case.new_text()}; {loaded}; {norm.name}(x of shape {tuple(x.shape)}, |x| ~ {case.magnitude:g}){note}"
        got = norm(x)
        expect_type(got, [torch.Tensor], "out", call)
        expect_tensor(got, want, "out", call, atol=1e-5, rtol=1e-4, hint=_hint(got, x, weight, case.eps))

    # Where eps matters (tiny inputs, and a large eps against unit inputs), on several vectors.
    chosen = [Case(dim=8, lead=(2, 3), eps=1e-5, magnitude=1e-3, seed=3), Case(dim=5, lead=(4,), eps=0.5, magnitude=1.0, seed=4)]
    ctx.forall(cases(), body, max_examples=4, examples=chosen)


@checks.add("rmsnorm", "scale invariance: RMSNorm(c * x) = RMSNorm(x) for c > 0, and RMSNorm(-x) = -RMSNorm(x)")
def invariance(ctx: Context) -> None:
    def body(example: Tuple[Case, float]) -> None:
        case, factor = example
        x = case.x()
        # A vector that happens to be near zero sits where eps matters: not this property's.
        hypothesis.assume(float(x.pow(2).mean(dim=-1).min()) >= 1e-2)
        norm = _new(ctx, case)
        loaded, note = _load_gain(norm, case, case.weight())
        call = f"{norm.name} = {case.new_text()}; {loaded}; {norm.name}(x) against {norm.name}({factor:g} * x) and {norm.name}(-x){note}"
        plain = norm(x)
        expect_type(plain, [torch.Tensor], "out", call)
        # eps is at most 1e-5 against mean(x**2) >= ~1e-2 here: the invariance holds to ~1e-3.
        expect_tensor(norm(x * factor), plain, f"{norm.name}({factor:g} * x)", call, atol=1e-3, rtol=1e-3, hint="divide by the root mean square, which scales with x")
        expect_tensor(norm(-x), -plain, f"{norm.name}(-x)", call, atol=1e-5, rtol=1e-4, hint="no bias and no shift: RMSNorm is odd")

    strategy = st.tuples(cases(magnitudes=(1.0, 30.0), epsilons=(1e-5, 1e-6)), st.sampled_from([0.5, 3.0, 100.0]))
    ctx.forall(strategy, body, max_examples=3)


@st.composite
def poisoned_cases(draw: st.DrawFn) -> Tuple[Case, int]:
    """A case with at least two vectors, and the (flat) index of the vector that gets a NaN."""
    case = draw(cases(magnitudes=(0.1, 1.0, 30.0)))
    case = dataclasses.replace(case, lead=(draw(st.integers(2, 3)),) + case.lead)
    rows = 1
    for n in case.lead:
        rows *= n
    return case, draw(st.integers(0, rows - 1))


@checks.add("rmsnorm", "vectors are normalised on their own: a NaN in one vector leaves every other vector's output alone")
def rows_independent(ctx: Context) -> None:
    def body(example: Tuple[Case, int]) -> None:
        case, row = example
        x = case.x().clone()
        x.view(-1, case.dim)[row, 0] = float("nan")
        named(
            x,
            f"torch.randn({tuple(x.shape)}, {generator_text(case.seed)}).mul({case.magnitude}).view(-1, {case.dim})"
            f".index_put((torch.tensor([{row}]), torch.tensor([0])), torch.tensor(float('nan'))).view({tuple(x.shape)})",
        )
        norm = _new(ctx, case)
        loaded, note = _load_gain(norm, case, case.weight())
        reference = torch.nn.RMSNorm(case.dim, eps=case.eps)
        with torch.no_grad():
            reference.weight.copy_(case.weight())
            want = reference(x)  # NaN in the poisoned vector only
        call = f"{norm.name} = {case.new_text()}; {loaded}; {norm.name}(x) with x of shape {tuple(x.shape)} and a NaN in vector {row}{note}"
        got = norm(x)
        expect_type(got, [torch.Tensor], "out", call)
        expect_tensor(
            got,
            want,
            "out",
            call,
            atol=1e-5,
            rtol=1e-4,
            hint="normalise every vector along the last axis by its own root mean square (mean over dim=-1, keepdim=True): "
            "statistics over the batch or over all entries mix vectors",
        )

    ctx.forall(poisoned_cases(), body, max_examples=2)
