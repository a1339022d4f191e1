"""Hidden tests for Part 2: greedy, temperature_sample and top_k_sample.

Distributions are built as the log of chosen probabilities (plus a shift, which the softmax
removes), so the expected distribution is known exactly:
- for the kept-set checks, distinct integers in [20, 40] normalised: every kept token has a
  renormalised probability of at least 1/16, so missing one in 300 draws has probability < 4e-9;
- for the frequency checks, distinct powers of 2.5: far from uniform, so a wrong temperature
  moves some token's frequency far from its expected value; the top-k frequency check also has a
  distribution of the kept-set kind (V = 6), where the tokens past the k = 2 kept hold most of the mass, so
  that a missing renormalisation moves the kept tokens' frequencies far from theirs.

Chosen examples come first (as hypothesis's ``@example``s would), then generated ones: the
frequency checks draw FREQ_DRAWS times at T = 0.5 and T = 3 and from that top-k distribution,
where every mistake of the corpus is several times the test's bound away from the expected
frequencies (the weakest, logits / T**2 at T = 0.5, about 2.5 times in expectation).

Frequencies: every token's count is tested against Binomial(n, q) with the Chernoff bound of
``autograder/checking/sampling.py``; with a Bonferroni correction over every token of every
example, a correct sampler fails a frequency check with probability below FALSE_FAILURE. Draws
are seeded through ``ctx.student.seed``, so grading is deterministic.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checking.compare import expect, fail, type_name
from autograder.checking.registry import Checks, Context
from autograder.checking.sampling import as_token, bernoulli_kl, expect_int_token, expect_torch_generator, kl_limit
from autograder.checking.strategies import MAX_SEED, randn, seeded

checks = Checks()

MAX_VOCAB = 8
SKEW, SKEWED_VOCAB = 2.5, 6
KEPT_DRAWS, FREQ_DRAWS = 300, 500
KEPT_EXAMPLES, FREQ_EXAMPLES = 3, 3  # FREQ_EXAMPLES: chosen and generated together, per check
SEEDED_DRAWS, SEEDED_EXAMPLES = 20, 1  # torch.manual_seed reproduces the draws
FALSE_FAILURE = 1e-7
KL_LIMIT = kl_limit(FREQ_EXAMPLES * SKEWED_VOCAB, FALSE_FAILURE)  # ~ 20.3 per frequency check
TEMPERATURES = (0.5, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class Dist:
    logits: torch.Tensor  # (V,) float32
    seed: int

    @property
    def vocab(self) -> int:
        return int(self.logits.numel())

    def probs(self, temperature: float = 1.0) -> List[float]:
        return torch.softmax(self.logits.double() / temperature, dim=0).tolist()

    def order(self) -> List[int]:
        """Token ids from the most likely down."""
        return sorted(range(self.vocab), key=lambda t: -float(self.logits[t]))


def make_dist(vocab: int, seed: int, shift: int, skewed: bool) -> Dist:
    """The log of ``vocab`` seeded distinct weights (powers of SKEW, or integers in [20, 40]),
    normalised, plus ``shift``."""
    if skewed:
        weights = SKEW ** torch.randperm(SKEWED_VOCAB, generator=seeded(seed))[:vocab].to(torch.float64)
    else:
        weights = (torch.randperm(21, generator=seeded(seed))[:vocab] + 20).to(torch.float64)
    # Rounded to 4 decimals, so that the reproducer's printed tensor is the one sent.
    logits = torch.tensor(np.round((weights / weights.sum()).log().numpy() + shift, 4), dtype=torch.float32)
    return Dist(logits, seed)


@st.composite
def dists(draw: st.DrawFn, skewed: bool = False, min_vocab: int = 2) -> Dist:
    vocab = draw(st.integers(min_vocab, SKEWED_VOCAB if skewed else MAX_VOCAB))
    seed = draw(st.integers(0, MAX_SEED))
    shift = draw(st.integers(-3, 3))
    return make_dist(vocab, seed, shift, skewed)


def _draw(ctx: Context, dist: Dist, times: int, symbol: str, *args: object) -> Tuple[Counter, str]:
    call = f"{symbol}(logits, {', '.join(repr(a) for a in args)})" if args else f"{symbol}(logits)"
    call = f"{times} draws of {call} after torch.manual_seed({dist.seed})"
    ctx.student.seed(dist.seed)
    results = ctx.student.call_repeated(symbol, times, dist.logits, *args)
    expect(type(results) is list and len(results) == times, f"the draws came back as {type_name(results)}, but should be {times} token ids [{call}]")
    return Counter(as_token(r, dist.vocab, call) for r in results), call


def _expect_frequencies(counts: Counter, expected: Dict[int, float], times: int, call: str, hint: str) -> None:
    for token in sorted(expected):
        share = counts[token] / times
        if times * bernoulli_kl(share, expected[token]) > KL_LIMIT:
            table = ", ".join(f"token {t}: {counts[t]} (expected about {expected[t] * times:.0f})" for t in sorted(expected))
            fail(
                f"token {token} came up {counts[token]} times in {times} draws, but should come up about "
                f"{expected[token] * times:.0f} times (probability {expected[token]:.4f}; a correct sampler is this far off with "
                f"probability below 1e-7) [{call}]\n  counts: {table}\n  hint: {hint}"
            )


# -------------------------------------------------------------------------------------------
# greedy


@checks.add("greedy", "returns a plain Python int")
def greedy_type(ctx: Context) -> None:
    def body(dist: Dist) -> None:
        expect_int_token(ctx.student.call("greedy", dist.logits), dist.vocab, "greedy(logits)")

    ctx.forall(dists(), body, max_examples=2)


@st.composite
def raw_logits(draw: st.DrawFn) -> torch.Tensor:
    vocab = draw(st.integers(1, 50))
    seed = draw(st.integers(0, MAX_SEED))
    scale = draw(st.sampled_from([0.01, 1.0, 100.0]))
    return randn(seed, vocab) * scale + draw(st.integers(-50, 50))


@checks.add("greedy", "returns the argmax of the logits", weight=2)
def greedy_argmax(ctx: Context) -> None:
    def body(logits: torch.Tensor) -> None:
        call = f"greedy(logits of shape {tuple(logits.shape)})"
        got = as_token(ctx.student.call("greedy", logits), logits.numel(), call)
        want = int(torch.argmax(logits))
        if got != want:
            hint = "the most likely token has the largest logit" + (": this is the least likely one (argmin)" if got == int(torch.argmin(logits)) else "")
            fail(f"result={got} (logit {float(logits[got]):.6g}), but should be {want} (logit {float(logits[want]):.6g}) [{call}]\n  hint: {hint}")

    ctx.forall(raw_logits(), body, max_examples=5)


# -------------------------------------------------------------------------------------------
# temperature_sample


@checks.add("temperature_sample", "returns a plain Python int")
def temperature_type(ctx: Context) -> None:
    def body(dist: Dist) -> None:
        ctx.student.seed(dist.seed)
        expect_int_token(ctx.student.call("temperature_sample", dist.logits, 2.0), dist.vocab, "temperature_sample(logits, 2.0)")

    ctx.forall(dists(), body, max_examples=2)


@checks.add("temperature_sample", "tokens come up with the probabilities of softmax(logits / T), T from 0.5 to 3 (seeded statistical test)", weight=3)
def temperature_frequencies(ctx: Context) -> None:
    def body(example: Tuple[Dist, float]) -> None:
        dist, temperature = example
        counts, call = _draw(ctx, dist, FREQ_DRAWS, "temperature_sample", temperature)
        expected = dict(enumerate(dist.probs(temperature)))
        multiplied = dict(enumerate(dist.probs(1 / temperature)))
        hint = "divide the logits by the temperature before the softmax: T < 1 sharpens, T > 1 flattens"
        if temperature != 1 and all(abs(counts[t] / FREQ_DRAWS - multiplied[t]) < 0.05 for t in multiplied):
            hint = "these frequencies fit softmax(logits * T): divide the logits by T instead"
        _expect_frequencies(counts, expected, FREQ_DRAWS, call, hint)

    # Sharpening and flattening, over all six powers of 2.5: at T = 0.5 a missing, doubled or
    # inverted division by T each moves the top token's frequency far off, at T = 3 the last two.
    strategy = st.tuples(dists(skewed=True, min_vocab=3), st.sampled_from(TEMPERATURES))
    ctx.forall(strategy, body, max_examples=FREQ_EXAMPLES - len(TEMPERATURE_CASES), examples=TEMPERATURE_CASES)


TEMPERATURE_CASES = [(make_dist(SKEWED_VOCAB, 5, 1, skewed=True), 0.5), (make_dist(SKEWED_VOCAB, 6, -2, skewed=True), 3.0)]


@checks.add("temperature_sample", "draws from torch's generator: torch.manual_seed reproduces them whatever Python's and numpy's seeds")
def temperature_torch_generator(ctx: Context) -> None:
    def body(dist: Dist) -> None:
        call = f"{SEEDED_DRAWS} draws of temperature_sample(logits, 2.0)"
        expect_torch_generator(ctx.student, "temperature_sample", (dist.logits, 2.0), dist.seed, SEEDED_DRAWS, call)

    ctx.forall(dists(min_vocab=3), body, max_examples=SEEDED_EXAMPLES)


@st.composite
def spread_dists(draw: st.DrawFn) -> Dist:
    """Logits a permutation of 0, 1, ..., V-1 (gaps of at least 1), shifted."""
    vocab = draw(st.integers(2, MAX_VOCAB))
    seed = draw(st.integers(0, MAX_SEED))
    logits = torch.randperm(vocab, generator=seeded(seed)).to(torch.float32) + draw(st.integers(-3, 3))
    return Dist(logits, seed)


@checks.add("temperature_sample", "a temperature near 0 always gives the most likely token")
def temperature_cold(ctx: Context) -> None:
    def body(dist: Dist) -> None:
        # Logit gaps of at least 1 become at least 50 at T = 0.02: another token has
        # probability below 8 e^-50 per draw.
        counts, call = _draw(ctx, dist, 30, "temperature_sample", 0.02)
        top = dist.order()[0]
        others = sorted(t for t in counts if t != top)
        if others:
            fail(
                f"token {others[0]} came up {counts[others[0]]} times, but should never: at T = 0.02 the most likely token "
                f"{top} has all the mass [{call}]\n  hint: divide the logits by T (do not multiply)"
            )

    ctx.forall(spread_dists(), body, max_examples=2)


# -------------------------------------------------------------------------------------------
# top_k_sample


@st.composite
def top_k_cases(draw: st.DrawFn, skewed: bool = False, beyond: bool = False) -> Tuple[Dist, int]:
    """A distribution and k: 2 <= k < V (skewed), 1 <= k <= V, or the edge case V < k <= V + 3
    (``beyond``), which has a check of its own so that it weighs as an edge case."""
    dist = draw(dists(skewed=skewed, min_vocab=3 if skewed else 2))
    if beyond:
        return dist, draw(st.integers(dist.vocab + 1, dist.vocab + 3))
    k = draw(st.integers(2, dist.vocab - 1) if skewed else st.integers(1, dist.vocab))
    return dist, k


@checks.add("top_k_sample", "returns a plain Python int")
def top_k_type(ctx: Context) -> None:
    def body(example: Tuple[Dist, int]) -> None:
        dist, k = example
        ctx.student.seed(dist.seed)
        expect_int_token(ctx.student.call("top_k_sample", dist.logits, k), dist.vocab, f"top_k_sample(logits, {k})")

    ctx.forall(top_k_cases(), body, max_examples=2)


def _expect_kept(ctx: Context, example: Tuple[Dist, int]) -> None:
    """Every one of the k most likely tokens comes up in KEPT_DRAWS draws, and no other."""
    dist, k = example
    counts, call = _draw(ctx, dist, KEPT_DRAWS, "top_k_sample", k)
    kept = dist.order()[: min(k, dist.vocab)]
    ranks = {t: r + 1 for r, t in enumerate(dist.order())}
    outside = sorted((t for t in counts if t not in kept), key=lambda t: ranks[t])
    if outside:
        t = outside[0]
        hint = "keep exactly k tokens: the k largest logits"
        if k < dist.vocab and set(outside) == {dist.order()[k]}:
            hint = "one token too many came up: keep k tokens, not k + 1"
        fail(
            f"token {t} (the {ranks[t]}th most likely) came up {counts[t]} times in {KEPT_DRAWS} draws, but should never: "
            f"only the {k} most likely tokens {kept} may be drawn [{call}]\n  hint: {hint}; the others get probability "
            "exactly 0 (remove them, or set their logits to -inf, before the softmax)"
        )
    missing = [t for t in kept if not counts[t]]
    if missing:
        t = missing[0]
        hint = "one of the k most likely tokens never came up: keep k tokens, not k - 1" if missing == [kept[-1]] and k > 1 else "draw from all k kept tokens"
        fail(
            f"token {t} (the {ranks[t]}th most likely) came up 0 times in {KEPT_DRAWS} draws, but should come up: it is one of "
            f"the {k} most likely tokens {kept} (a correct sampler misses it with probability below 1e-8) [{call}]\n  hint: {hint}"
        )


@checks.add("top_k_sample", "draws only the k most likely tokens, and every one of them (1 <= k <= V)", weight=2)
def top_k_kept(ctx: Context) -> None:
    ctx.forall(top_k_cases(), lambda example: _expect_kept(ctx, example), max_examples=KEPT_EXAMPLES)


@checks.add("top_k_sample", "k larger than the vocabulary keeps every token (V < k <= V + 3)")
def top_k_beyond_vocab(ctx: Context) -> None:
    ctx.forall(top_k_cases(beyond=True), lambda example: _expect_kept(ctx, example), max_examples=1)


@checks.add("top_k_sample", "draws from torch's generator: torch.manual_seed reproduces them whatever Python's and numpy's seeds")
def top_k_torch_generator(ctx: Context) -> None:
    def body(dist: Dist) -> None:
        k = dist.vocab - 1
        call = f"{SEEDED_DRAWS} draws of top_k_sample(logits, {k})"
        expect_torch_generator(ctx.student, "top_k_sample", (dist.logits, k), dist.seed, SEEDED_DRAWS, call)

    ctx.forall(dists(min_vocab=3), body, max_examples=SEEDED_EXAMPLES)


@checks.add("top_k_sample", "the kept tokens come up with their probabilities renormalised over the k kept (seeded statistical test)", weight=2)
def top_k_frequencies(ctx: Context) -> None:
    def body(example: Tuple[Dist, int]) -> None:
        dist, k = example
        counts, call = _draw(ctx, dist, FREQ_DRAWS, "top_k_sample", k)
        probs = dist.probs()
        kept = dist.order()[:k]
        total = sum(probs[t] for t in kept)
        expected = {t: (probs[t] / total if t in kept else 0.0) for t in range(dist.vocab)}
        _expect_frequencies(
            counts,
            expected,
            FREQ_DRAWS,
            call,
            "draw token t with probability p_t / (sum of the k kept probabilities): renormalise over the kept tokens "
            "(torch.multinomial does it for you; a hand-made cumulative sum must end at 1)",
        )

    # Six weights in [20, 40] and k = 2: the four dropped tokens hold about two thirds of the mass.
    ctx.forall(top_k_cases(skewed=True), body, max_examples=FREQ_EXAMPLES - len(TOP_K_CASES), examples=TOP_K_CASES)


TOP_K_CASES = [(make_dist(SKEWED_VOCAB, 3, 2, skewed=False), 2)]
