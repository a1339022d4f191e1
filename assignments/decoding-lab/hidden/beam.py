"""Hidden tests for Part 3: beam_search(step_logprobs, bos, eos, beam_size, max_len).

The step function computes what the given ``NGramStep`` computes, on an n-gram table of logits
that the grader draws (small vocabularies, bigram or trigram), but it runs here, in the grader:
the submission calls it through the pipe (``Student.function``), so the record of the prefixes
it was asked about cannot be edited by the submission, as the upload's own ``NGramStep`` could
be. The grader runs its own search on the same table *without* early stopping, to max_len, and
checks:
- the submission returns what that full search returns (so early stopping changed nothing);
- the submission stops right after the step at which the rule "best completed score >= best
  live score" first holds: the longest prefix it asked ``step_logprobs`` about is that step's.
  Running on to max_len, or stopping sooner, shows.

Examples where two compared scores lie within MARGIN of each other are skipped (float32 sums
in another order could then legitimately rank them differently), except in the known-answer
check, where the tie is exact by construction and the rule says ">=".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import hypothesis
import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checking.compare import expect, fail, type_name
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, randn

checks = Checks()

MARGIN = 1e-4
Hyp = Tuple[List[int], float]


@dataclass(frozen=True)
class Case:
    table: torch.Tensor  # (V,) * order, float32 logits
    bos: int
    eos: int
    beam: int
    max_len: int

    @property
    def vocab(self) -> int:
        return int(self.table.shape[-1])

    def logprob_row(self, tokens: List[int]) -> torch.Tensor:
        """What NGramStep returns for ``tokens``, computed the same way (float32 log_softmax)."""
        context = self.table.dim() - 1
        row = self.table[tuple(([self.bos] * context + tokens)[len(tokens) :])] if context else self.table
        return torch.log_softmax(row, dim=-1)  # (V,)

    def logprobs(self, tokens: List[int]) -> List[float]:
        return self.logprob_row(tokens).tolist()

    def score(self, tokens: List[int]) -> float:
        return sum(self.logprobs(tokens[:i])[tokens[i]] for i in range(1, len(tokens)))

    def call(self) -> str:
        order = self.table.dim()
        return f"beam_search(step, bos={self.bos}, eos={self.eos}, beam_size={self.beam}, max_len={self.max_len}) with step = NGramStep(table of shape {tuple(self.table.shape)} ({order}-gram), bos={self.bos})"


@dataclass
class Run:
    """The grader's search to max_len, and what a correct early-stopping search does."""

    best: Hyp
    stop_step: int  # the step after which the rule first says stop (= the longest prefix asked about)
    close: bool = False  # some compared scores lie within MARGIN: the example is skipped
    trace: List[str] = field(default_factory=list)


def full_search(case: Case) -> Run:
    """Beam search exactly as the handout defines it, but never stopping early."""
    live: List[Hyp] = [([case.bos], 0.0)]
    best: Optional[Hyp] = None
    stop_step: Optional[int] = None
    close = False
    trace = []
    for step in range(1, case.max_len + 1):
        candidates: List[Hyp] = []
        for tokens, score in live:
            candidates += [(tokens + [t], score + lp) for t, lp in enumerate(case.logprobs(tokens))]
        candidates.sort(key=lambda c: -c[1])
        kept = candidates[: case.beam + 1]
        close |= any(a[1] - b[1] < MARGIN for a, b in zip(kept, kept[1:]))
        live = []
        for tokens, score in candidates[: case.beam]:
            if tokens[-1] == case.eos:
                if best is not None:
                    close |= abs(score - best[1]) < MARGIN
                if best is None or score > best[1]:
                    best = (tokens, score)
            else:
                live.append((tokens, score))
        trace.append(f"step {step}: live {[(t, round(s, 4)) for t, s in live]}, best completed {None if best is None else (best[0], round(best[1], 4))}")
        if stop_step is None and live and best is not None:
            close |= abs(best[1] - live[0][1]) < MARGIN
        if stop_step is None and (not live or (best is not None and best[1] >= live[0][1])):
            stop_step = step
        if not live:
            break
    if stop_step is None:
        stop_step = case.max_len
    if best is None:
        best = live[0]
    return Run(best, stop_step, close, trace)


def make_case(vocab: int, order: int, seed: int, scale: float, eos: int, bos: int, eos_shift: float, beam: int, max_len: int) -> Case:
    """A seeded n-gram table of logits, rounded to 4 decimals (what the reproducer prints), with
    ``eos_shift`` added to every logit of eos (how soon hypotheses end)."""
    table = randn(seed, *([vocab] * order)) * scale
    table[..., eos] += eos_shift
    table = torch.tensor(np.round(table.numpy(), 4), dtype=torch.float32)
    return Case(table, bos, eos, beam, max_len)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    vocab = draw(st.integers(3, 6))
    order = draw(st.sampled_from([2, 3]))
    seed = draw(st.integers(0, MAX_SEED))
    scale = draw(st.sampled_from([1.0, 2.0, 3.0]))
    eos = draw(st.integers(0, vocab - 1))
    bos = (eos + draw(st.integers(1, vocab - 1))) % vocab
    eos_shift = draw(st.sampled_from([-3.0, -1.0, 0.0, 1.0, 2.0]))
    return make_case(vocab, order, seed, scale, eos, bos, eos_shift, draw(st.integers(1, 4)), draw(st.integers(1, 6)))


class Step:
    """The step function of one case, run in the grader: NGramStep's arithmetic and its way of
    reading a prefix, with the longest prefix asked about written down out of the submission's reach."""

    def __init__(self, case: Case):
        self.case = case
        self.longest = 0

    def __call__(self, prefix: object) -> torch.Tensor:
        try:
            tokens = [int(t) for t in torch.as_tensor(prefix).reshape(-1)]
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"step_logprobs(prefix): prefix should be a list of token ids, not {type_name(prefix)} ({exc})") from None
        self.longest = max(self.longest, len(tokens))
        try:
            return self.case.logprob_row(tokens)
        except IndexError:
            raise IndexError(f"step_logprobs({tokens}): token ids should be in range({self.case.vocab})") from None


def _run(ctx: Context, case: Case) -> Tuple[Hyp, Step]:
    """Run the submission's search with the grader's step function; (tokens, score) and the step."""
    step = Step(case)
    table = " ".join(np.array2string(case.table.numpy(), separator=", ", precision=4, threshold=10_000).split())  # one line
    ctx.student.log.append(f"step = NGramStep(torch.tensor({table}), bos={case.bos})")
    result = ctx.student.call("beam_search", ctx.student.function("step", step), case.bos, case.eos, case.beam, case.max_len)
    call = case.call()
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"the result is {type_name(result)}{'' if not isinstance(result, (tuple, list)) else f' of length {len(result)}'}, but should be a pair (tokens, score) [{call}]",
    )
    tokens, score = result
    if isinstance(tokens, torch.Tensor) and tokens.dim() == 1 and not tokens.is_floating_point():
        tokens = tokens.tolist()
    expect(
        isinstance(tokens, (list, tuple)) and all(type(t) is int for t in tokens),
        f"type(tokens)={type_name(tokens)}, but should be a list of int token ids [{call}]",
    )
    if isinstance(score, torch.Tensor) and score.numel() == 1 and score.is_floating_point():
        score = float(score)
    if isinstance(score, np.floating):
        score = float(score)
    expect(type(score) in (float, int), f"type(score)={type_name(score)}, but should be float [{call}]")
    return (list(tokens), float(score)), step


def _full_search(ctx: Context, case: Case) -> Run:
    """``full_search(case)``, computed once per session and case (two checks search the same cases)."""
    key = ("full_search", case.table.numpy().tobytes(), tuple(case.table.shape), case.bos, case.eos, case.beam, case.max_len)
    if key not in ctx.student.memo:
        ctx.student.memo[key] = full_search(case)
    return ctx.student.memo[key]


def _explicit(ctx: Context, examples: List[Case], body: Callable[[Case, Run], None]) -> None:
    """``body(case, run)`` on chosen cases (``Context.each``), each chosen with no compared scores
    within MARGIN of each other."""

    def chosen(case: Case) -> None:
        run = _full_search(ctx, case)
        if run.close:  # the grader's own mistake in choosing it: never the submission's
            raise AssertionError(f"explicit case {case.call()} has scores within {MARGIN} of each other")
        body(case, run)

    ctx.each(examples, chosen)


# Chosen cases (from the strategy's own space) where the usual mistakes show, all at once: a
# trigram table over 6 tokens, beam 2, max_len 6, eos favoured (hypotheses complete at several
# steps, and the search stops early, well before max_len, on a completed one that is not the first).
STOPS_EARLY = make_case(6, 3, 298, 2.0, 2, 3, 2.0, 2, 6)
# Beam 3 over a bigram table of 6 tokens and a trigram table of 4, with completed hypotheses of
# several lengths.
PAIRS = [make_case(6, 2, 3, 1.0, 0, 1, 1.0, 3, 6), make_case(4, 3, 11789, 1.0, 2, 1, -1.0, 3, 5)]


def _describe(case: Case, run: Run) -> str:
    return "\n  the search, step by step:\n    " + "\n    ".join(run.trace)


@checks.add("beam_search", "returns (tokens, score): tokens from bos, and score the sum of their log-probabilities")
def returns_pair(ctx: Context) -> None:
    def body(case: Case, run: object = None) -> None:
        (tokens, score), _ = _run(ctx, case)
        call = case.call()
        expect(bool(tokens) and tokens[0] == case.bos, f"tokens={tokens}, but should start with bos={case.bos} [{call}]")
        expect(all(0 <= t < case.vocab for t in tokens), f"tokens={tokens}, but should be token ids in range({case.vocab}) [{call}]")
        want = case.score(tokens)
        if not math.isclose(score, want, abs_tol=1e-4):
            fail(
                f"score={score:.6g}, but should be {want:.6g}: the sum of the log-probabilities of the tokens {tokens[1:]} after bos [{call}]\n"
                "  hint: the score of a hypothesis is the sum of log step_logprobs(prefix)[next token] over its tokens, not normalised by length"
            )

    _explicit(ctx, PAIRS, body)
    ctx.forall(cases(), body, max_examples=3)


def _answer_hint(case: Case, got: Hyp, run: Run) -> str:
    tokens, _ = got
    want_tokens = run.best[0]
    if len(tokens) - 1 > case.max_len:
        return f"at most max_len = {case.max_len} tokens follow bos (eos included)"
    if tokens and tokens[-1] == case.eos and len(tokens) < len(want_tokens) and run.best[0][-1] == case.eos:
        return (
            "a completed hypothesis found later scores more: stop only when the best completed score is at least the best "
            "live score (or at max_len, or when nothing is live), not as soon as something completes"
        )
    if tokens and tokens[-1] != case.eos and want_tokens[-1] == case.eos:
        return "return the best completed hypothesis; an unfinished one only if nothing completed within max_len steps"
    if want_tokens[-1] != case.eos and len(tokens) < len(want_tokens):
        return f"nothing completes here: run all max_len = {case.max_len} steps (max_len counts the tokens after bos)"
    return "keep the beam_size best candidates over all extensions of all live hypotheses; completed ones leave the beam"


def _over_cases(ctx: Context, check: Callable[[Case, Run], None]) -> None:
    """``check`` on the chosen case, then on 3 generated cases without near-ties (the grader's
    full search computed once per case)."""

    def body(case: Case) -> None:
        run = _full_search(ctx, case)
        hypothesis.assume(not run.close)
        check(case, run)

    _explicit(ctx, [STOPS_EARLY], check)
    ctx.forall(cases(), body, max_examples=3)


@checks.add("beam_search", "returns the same hypothesis and score as the search run to max_len without early stopping", weight=3)
def same_answer(ctx: Context) -> None:
    def check(case: Case, run: Run) -> None:
        got, _ = _run(ctx, case)
        if got[0] != run.best[0] or not math.isclose(got[1], run.best[1], abs_tol=1e-4):
            fail(
                f"result=({got[0]}, {got[1]:.6g}), but should be ({run.best[0]}, {run.best[1]:.6g}) [{case.call()}]\n"
                f"  hint: {_answer_hint(case, got, run)}{_describe(case, run)}"
            )

    _over_cases(ctx, check)


@checks.add("beam_search", "stops right after the first step at which the best completed score >= the best live score", weight=2)
def stops_on_time(ctx: Context) -> None:
    def check(case: Case, run: Run) -> None:
        _, step = _run(ctx, case)
        longest = step.longest
        if longest != run.stop_step:
            late = longest > run.stop_step
            hint = (
                "after each step, stop (without calling step_logprobs again) as soon as the best completed score is at "
                "least the best live score: later hypotheses only lose probability"
                if late
                else "stop only when nothing is live, at max_len, or when the best completed score is at least the best live "
                "score; a completed hypothesis alone is not enough"
            )
            fail(
                f"the search asked step_logprobs about prefixes of up to {longest} tokens, but should stop after step "
                f"{run.stop_step} (prefixes of up to {run.stop_step} tokens, bos included) [{case.call()}]\n  hint: {hint}{_describe(case, run)}"
            )

    _over_cases(ctx, check)


def _tie_case(max_len: int) -> Case:
    """Bigram table, V = 3 (bos 0, eos 1, token 2): after bos, eos and token 2 each have
    probability exactly 1/2 (bos itself ~0); after 2, eos has 1/4. After step 1 the completed
    [0, 1] and the live [0, 2] both score ln 1/2 exactly: the rule (>=) stops there."""
    table = torch.tensor([[-30.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-30.0, 0.0, math.log(3.0)]])
    return Case(table, bos=0, eos=1, beam=2, max_len=max_len)


@checks.add("beam_search", "an exact tie, best completed = best live, stops the search (the rule is >=)")
def exact_tie(ctx: Context) -> None:
    def body(max_len: int) -> None:
        case = _tie_case(max_len)
        (tokens, score), step = _run(ctx, case)
        call = case.call() + ", table = [[-30, 0, 0], [0, 0, 0], [-30, 0, ln 3]]"
        expect(
            tokens == [0, 1] and math.isclose(score, math.log(0.5), abs_tol=1e-4),
            f"result=({tokens}, {score:.6g}), but should be ([0, 1], {math.log(0.5):.6g}) [{call}]",
            "after step 1, [0, 1] is completed and [0, 2] is live, both with score ln 1/2: nothing later can do better",
        )
        longest = step.longest
        expect(
            longest == 1,
            f"the search asked step_logprobs about prefixes of up to {longest} tokens, but should stop after step 1 "
            f"(best completed ln 1/2 >= best live ln 1/2) [{call}]",
            "the rule is best completed score >= best live score: on a tie, stop",
        )

    ctx.forall(st.integers(2, 5), body, max_examples=2)


def _equal_completed_case(max_len: int) -> Case:
    """Bigram table, V = 3 (bos 0, eos 1, token 2), beam 3: [0, 1] completes at step 1 and
    [0, 2, 1] at step 2, both with score exactly -2 ln 2 in float32 and float64 alike (every
    log-probability involved is -ln 2 or -2 ln 2 as float32 rounds them, and doubling is exact).
    The handout: of two equal scores, the first found wins."""
    table = torch.tensor([[0.0, 0.0, math.log(2.0)], [0.0, 0.0, 0.0], [-30.0, 0.0, 0.0]])
    return Case(table, bos=0, eos=1, beam=3, max_len=max_len)


@checks.add("beam_search", "two completed hypotheses with exactly equal scores: the one found first is returned")
def first_of_equals(ctx: Context) -> None:
    def body(max_len: int) -> None:
        case = _equal_completed_case(max_len)
        (tokens, score), _ = _run(ctx, case)
        want = float(case.score([0, 1]))
        call = case.call() + ", table = [[0, 0, ln 2], [0, 0, 0], [-30, 0, 0]]"
        expect(
            tokens == [0, 1] and math.isclose(score, want, abs_tol=1e-4),
            f"result=({tokens}, {score:.6g}), but should be ([0, 1], {want:.6g}) [{call}]",
            "[0, 1] completes at step 1 and [0, 2, 1] at step 2 with exactly the same score: keep the first found "
            "(replace the best completed hypothesis only when a new one scores strictly more)",
        )

    ctx.forall(st.integers(2, 5), body, max_examples=2)
