"""Hidden tests for Part 5: nucleus (top-p) sampling.

Every distribution is built here as the log of chosen probabilities (plus a shift, which the
softmax removes), so the nucleus is known in advance. The probabilities are distinct integers in
[20, 40] normalised (V <= 8), so every token has probability at least 20/279 > 0.07 and any two
differ by at least 2.5 %: sorting cannot depend on rounding, and a token that should (or should
not) come up does so with overwhelming probability in a few hundred draws. The frequency test
uses powers of 2.5 instead, so that a sampler that weights the nucleus wrongly is far off.
``p`` is drawn strictly inside a gap of the cumulative sums (at least 7e-4 from each of them, far
above float32 rounding), except in the one small check that is about the exact tie
``p_(1) + ... + p_(k) == p``; ``p = 1`` (keep every token) is drawn too.

The submission's sampler draws from torch's global generator: every batch of draws is seeded
through ``ctx.student.seed``, so grading is deterministic. Over all checks, a correct sampler
fails with probability below 2e-7 over the choice of seeds (the frequency test's 1e-7, below,
plus under 1e-8 for a nucleus token never drawn); a token outside the nucleus never comes up.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checking.compare import expect, fail, type_name
from autograder.checking.registry import Checks, Context
from autograder.checking.sampling import as_token, bernoulli_kl, expect_int_token, expect_torch_generator, kl_limit
from autograder.checking.strategies import MAX_SEED, seeded

checks = Checks()

SYMBOL = "nucleus_sampling"
MARGIN = 1e-4  # no cumulative sum this close to p (the tie check aside); the strategy keeps 7e-4
KEPT_DRAWS = 300  # a nucleus token (renormalised probability > 0.07) is missed w.p. < 3e-10
KEPT_EXAMPLES = 4
GREEDY_DRAWS = 30
TIE_DRAWS = 150  # one token too many at the tie (the extra one has 1/7) shows w.p. 1 - 1e-10
TIE_EXAMPLES = 3
FREQ_DRAWS = 400  # a uniform or flattened (second softmax) weighting is many times past the limit
FREQ_EXAMPLES = 3
SEEDED_DRAWS, SEEDED_EXAMPLES = 20, 2  # torch.manual_seed reproduces the draws
SKEW = 2.5  # the frequency test's probabilities are powers of SKEW: far from uniform
SKEWED_VOCAB = 5
MAX_VOCAB = 8
# Frequencies: every nucleus token's count is tested against Binomial(FREQ_DRAWS, q) with the
# Chernoff bound (see autograder/checking/sampling.py). With a Bonferroni correction over at most
# FREQ_EXAMPLES * SKEWED_VOCAB tests, a correct sampler fails the check with probability at most
# FALSE_FAILURE = 1e-7, i.e. one in ten million.
FALSE_FAILURE = 1e-7
KL_LIMIT = kl_limit(FREQ_EXAMPLES * SKEWED_VOCAB, FALSE_FAILURE)  # ~ 19.5


@dataclass(frozen=True)
class Case:
    logits: torch.Tensor  # (V,) float32
    probs: Tuple[float, ...]  # float64 softmax of ``logits``
    p: float
    nucleus: Tuple[int, ...]  # the kept tokens, most likely first
    seed: int

    @property
    def vocab(self) -> int:
        return len(self.probs)

    def call(self, times: int = 0) -> str:
        text = f"{SYMBOL}(logits, {self.p!r})"
        return f"{text}, {times} draws after torch.manual_seed({self.seed})" if times else text

    def renormalised(self) -> dict:
        total = sum(self.probs[t] for t in self.nucleus)
        return {t: self.probs[t] / total for t in self.nucleus}

    def describe(self) -> str:
        order = sorted(range(self.vocab), key=lambda t: -self.probs[t])
        running, parts = 0.0, []
        for t in order:
            running += self.probs[t]
            parts.append(f"token {t}: {self.probs[t]:.4f} (sum {running:.4f})")
        return "softmax(logits) from the most likely token down: " + ", ".join(parts)


def _nucleus(probs: Sequence[float], p: float) -> Tuple[int, ...]:
    order = sorted(range(len(probs)), key=lambda t: -probs[t])
    running, kept = 0.0, []
    for t in order:
        kept.append(t)
        running += probs[t]
        if running >= p:
            break
    return tuple(kept)


@st.composite
def cases(draw: st.DrawFn, greedy: bool = False, max_vocab: int = MAX_VOCAB, skewed: bool = False) -> Case:
    """A distribution of distinct probabilities and a ``p`` well inside a gap of its cumulative sums.

    ``greedy``: p at most 95 % of the top probability, so the nucleus is the argmax alone.
    ``skewed``: probabilities at least SKEW times apart and a nucleus of at least 2 tokens (for
    the frequency test, so that a wrong weighting inside the nucleus shows).
    """
    vocab = draw(st.integers(2, SKEWED_VOCAB if skewed else max_vocab))
    seed = draw(st.integers(0, MAX_SEED))
    shift = draw(st.integers(-3, 3))
    if skewed:  # SKEW ** e for distinct exponents e in [0, SKEWED_VOCAB)
        weights = SKEW ** torch.randperm(SKEWED_VOCAB, generator=seeded(seed))[:vocab].to(torch.float64)
    else:  # distinct integers in [20, 40]
        weights = (torch.randperm(21, generator=seeded(seed))[:vocab] + 20).to(torch.float64)
    # Logits rounded to 4 decimals so that the reproducer's printed tensor is the one sent.
    logits = torch.tensor(np.round((weights / weights.sum()).log().numpy() + shift, 4), dtype=torch.float32)
    probs = torch.softmax(logits.to(torch.float64), dim=0).tolist()
    ranked = sorted(probs, reverse=True)
    k = 1 if greedy else draw(st.integers(2 if skewed else 1, vocab))
    if k == vocab and not greedy and draw(st.booleans()):
        p = 1.0  # p >= 1 keeps every token
    else:
        fraction = draw(st.integers(1, 19)) / 20  # where p falls inside the k-th token's share
        p = round(sum(ranked[: k - 1]) + fraction * ranked[k - 1], 4)
    cumulative = np.cumsum(ranked)
    assert p == 1.0 or np.abs(cumulative - p).min() >= MARGIN, (probs, p)
    nucleus = _nucleus(probs, p)
    assert len(nucleus) == k, (probs, p, k)
    return Case(logits, tuple(probs), p, nucleus, seed)


def _draw(ctx: Context, case: Case, times: int) -> Counter:
    ctx.student.seed(case.seed)
    results = ctx.student.call_repeated(SYMBOL, times, case.logits, case.p)
    call = case.call(times)
    expect(
        type(results) is list and len(results) == times,
        f"the draws came back as {type_name(results)}, but should be {times} token ids [{call}]",
    )
    return Counter(as_token(r, case.vocab, call) for r in results)


def _expect_inside(case: Case, counts: Counter, times: int) -> None:
    """Every drawn token belongs to the nucleus."""
    outside = sorted((t for t in counts if t not in case.nucleus), key=lambda t: -counts[t])
    if not outside:
        return
    token = outside[0]
    kept = set(case.nucleus)
    if kept == {max(range(case.vocab), key=lambda t: case.probs[t])} and case.p < 1:
        hint = f"p = {case.p} is at most the top probability {max(case.probs):.4f}, so only the most likely token may be drawn"
    else:
        hint = "keep the k most likely tokens, k the smallest with p_(1) + ... + p_(k) >= p, adding up probabilities (the softmax), not logits"
    fail(
        f"token {token} came up {counts[token]} times in {times} draws, but should never: it is outside the nucleus "
        f"{list(case.nucleus)} of p = {case.p} [{case.call(times)}]\n  {case.describe()}\n  hint: {hint}"
    )


def _expect_all_present(case: Case, counts: Counter, times: int) -> None:
    """Every nucleus token so likely that a correct sampler draws it with overwhelming probability
    (missed with probability below 1e-9) does come up."""
    for token in case.nucleus:
        q = case.renormalised()[token]
        if (1 - q) ** times >= 1e-9 or counts[token]:
            continue
        missing = [t for t in case.nucleus if not counts[t]]
        top_only = set(counts) == {case.nucleus[0]}
        if missing == [case.nucleus[-1]] and len(case.nucleus) == 2:
            hint = (
                "only the most likely token came up. Either the token whose probability makes the sum reach p was dropped "
                "(k is the smallest integer with p_(1) + ... + p_(k) >= p: count the sums that are still < p, then add one), "
                "or the argmax is taken instead of a sample from the nucleus"
            )
        elif missing == [case.nucleus[-1]]:
            hint = (
                "k is the smallest integer with p_(1) + ... + p_(k) >= p: the token whose probability makes the sum "
                "reach p belongs to the nucleus (count the sums that are still < p, then add one)"
            )
        elif top_only:
            hint = "only the most likely token ever came up: draw from the nucleus (with probabilities proportional to its tokens'), do not take its argmax"
        else:
            hint = "every token of the nucleus must be drawn with probability proportional to its own"
        fail(
            f"token {token} came up 0 times in {times} draws, but should come up about {q * times:.0f} times: it is in the "
            f"nucleus {list(case.nucleus)} of p = {case.p} with renormalised probability {q:.4f} "
            f"(a correct sampler misses it with probability {(1 - q) ** times:.1e}) [{case.call(times)}]\n  {case.describe()}\n  hint: {hint}"
        )


@checks.add("nucleus_sampling", "returns a plain Python int, a token id in range(V)")
def returns_int(ctx: Context) -> None:
    def body(case: Case) -> None:
        ctx.student.seed(case.seed)
        result = ctx.student.call(SYMBOL, case.logits, case.p)
        call = case.call()
        expect_int_token(result, case.vocab, call)

    ctx.forall(cases(), body, max_examples=2)


@checks.add("nucleus_sampling", "draws only tokens of the smallest prefix reaching p, and every one of them", weight=2)
def kept_set(ctx: Context) -> None:
    def body(case: Case) -> None:
        counts = _draw(ctx, case, KEPT_DRAWS)
        _expect_inside(case, counts, KEPT_DRAWS)
        _expect_all_present(case, counts, KEPT_DRAWS)

    ctx.forall(cases(), body, max_examples=KEPT_EXAMPLES)


@checks.add("nucleus_sampling", "p at or below the top probability always gives the most likely token")
def greedy(ctx: Context) -> None:
    def body(case: Case) -> None:
        counts = _draw(ctx, case, GREEDY_DRAWS)
        _expect_inside(case, counts, GREEDY_DRAWS)

    ctx.forall(cases(greedy=True, max_vocab=12), body, max_examples=5)


@checks.add("nucleus_sampling", "tokens come up with their renormalised probabilities (a seeded statistical test)")
def frequencies(ctx: Context) -> None:
    def body(case: Case) -> None:
        counts = _draw(ctx, case, FREQ_DRAWS)
        _expect_inside(case, counts, FREQ_DRAWS)
        q = case.renormalised()
        if len(q) == 1:
            return
        for token in case.nucleus:
            share = counts[token] / FREQ_DRAWS
            if FREQ_DRAWS * bernoulli_kl(share, q[token]) > KL_LIMIT:
                table = ", ".join(f"token {t}: {counts[t]} (expected about {q[t] * FREQ_DRAWS:.0f})" for t in case.nucleus)
                fail(
                    f"token {token} came up {counts[token]} times in {FREQ_DRAWS} draws, but should come up about "
                    f"{q[token] * FREQ_DRAWS:.0f} times: renormalised over the nucleus {list(case.nucleus)} of p = {case.p} "
                    f"its probability is {q[token]:.4f} (a correct sampler is this far off with probability below "
                    f"1e{math.floor((math.log(2) - FREQ_DRAWS * bernoulli_kl(share, q[token])) / math.log(10)) + 1}) [{case.call(FREQ_DRAWS)}]\n"
                    f"  counts: {table}\n  {case.describe()}\n"
                    f"  hint: draw one token of the nucleus with probability p_i / (p_(1) + ... + p_(k)), e.g. torch.multinomial over the kept probabilities"
                )

    ctx.forall(cases(skewed=True), body, max_examples=FREQ_EXAMPLES)


# Exact ties: 0.5, 0.25, 0.125, 0.125 are exactly representable, and the float32 softmax of
# their float32 logs returns them exactly, so p_(1) + ... + p_(k) == p holds bit for bit. (In
# float64 the sums of those float32 logits land 6e-10 to 7e-10 above 0.5 and 0.75, so a float64
# implementation keeps the same tokens.)
TIE_PROBS = (0.5, 0.25, 0.125, 0.125)
TIE_ORDERS = ((0, 1, 2, 3), (2, 0, 3, 1), (3, 2, 1, 0), (1, 3, 0, 2))


def _tie_logits(probs: Sequence[float]) -> torch.Tensor:
    return torch.tensor([math.log(q) for q in probs], dtype=torch.float32)


# The tie check relies on float32 exp being correctly rounded at these few points (it is on
# every CPU kernel we know of): if this machine's torch differs, stop at load time, not at grading.
for _order in TIE_ORDERS:
    _probs = [TIE_PROBS[i] for i in _order]
    if torch.softmax(_tie_logits(_probs), dim=0).tolist() != _probs:
        raise RuntimeError(f"float32 softmax does not give exact ties for {_probs} with this torch: the tie check would misgrade")


@st.composite
def tie_cases(draw: st.DrawFn) -> Case:
    order = draw(st.sampled_from(TIE_ORDERS))
    p = draw(st.sampled_from((0.75, 0.5)))
    probs = tuple(TIE_PROBS[i] for i in order)
    logits = _tie_logits(probs)
    seed = draw(st.integers(0, MAX_SEED))
    return Case(logits, probs, p, _nucleus(probs, p), seed)


@checks.add("nucleus_sampling", "draws from torch's generator: torch.manual_seed reproduces them whatever Python's and numpy's seeds")
def torch_generator(ctx: Context) -> None:
    def body(case: Case) -> None:
        expect_torch_generator(ctx.student, SYMBOL, (case.logits, case.p), case.seed, SEEDED_DRAWS, f"{SEEDED_DRAWS} draws of {case.call()}")

    ctx.forall(cases(skewed=True), body, max_examples=SEEDED_EXAMPLES)


@checks.add("nucleus_sampling", "a prefix summing exactly to p is the nucleus (probabilities 0.5, 0.25, 0.125, 0.125 and p = 0.75 keep 2)")
def exact_tie(ctx: Context) -> None:
    def body(case: Case) -> None:
        counts = _draw(ctx, case, TIE_DRAWS)
        shown = "[" + ", ".join(f"{q:g}" for q in case.probs) + "]"
        exact = (
            f"  logits = torch.tensor({shown}).log(): the probabilities are exactly {shown}, "
            f"and the {len(case.nucleus)} most likely sum to exactly p = {case.p}"
        )
        ranked = sorted(range(case.vocab), key=lambda t: -case.probs[t])
        try:
            _expect_inside(case, counts, TIE_DRAWS)
        except AssertionError as exc:
            lines = str(exc).splitlines()
            extra = set(counts) - set(case.nucleus)
            next_prob = case.probs[ranked[len(case.nucleus)]]
            if set(case.nucleus) <= set(counts) and len(extra) == 1 and case.probs[extra.pop()] == next_prob:  # one too many
                hint = (
                    "  hint: k is the smallest integer with p_(1) + ... + p_(k) >= p: a prefix that reaches p exactly is the "
                    "whole nucleus, and the next token is not kept (a token is kept only while the sum before it is < p)"
                )
            else:
                hint = next((line for line in lines if line.lstrip().startswith("hint:")), "")
            fail("\n".join([lines[0], exact, hint]))
        try:
            _expect_all_present(case, counts, TIE_DRAWS)
        except AssertionError as exc:
            lines = str(exc).splitlines()
            fail("\n".join([lines[0], exact] + [line for line in lines[1:] if line.lstrip().startswith("hint:")]))

    ctx.forall(tie_cases(), body, max_examples=TIE_EXAMPLES)
