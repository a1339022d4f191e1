"""Hidden tests for Part 1: token_nlls and compute_perplexity, with Hugging Face conventions.

Models and tokenizers cannot cross into the sandbox, so the grader sends their description
(a bigram table of logits and a word list) and builds the given ``TableLM`` and
``WhitespaceTokenizer`` of the upload (lab_models.py) inside it, then passes those objects to
the submission's functions. The expected values are computed here from the same table.

Charged once: ``compute_perplexity`` is accepted when it equals exp(mean NLL) of the true NLLs,
or exp(mean) of the submission's own ``token_nlls`` on the same text, so that an off-by-one in
``token_nlls`` that ``compute_perplexity`` merely reuses costs points on token_nlls only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checking.compare import expect, expect_tensor, fail, type_name
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, randn, seeded
from autograder.checking.student import SubmissionError

checks = Checks()

WORDS = ("the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "home")


@dataclass(frozen=True)
class Case:
    table: torch.Tensor  # (V, V) float32 logits: table[a] predicts what follows token a
    ids: Tuple[int, ...]  # the text's token ids, T >= 2

    @property
    def vocab(self) -> Tuple[str, ...]:
        return WORDS[: self.table.shape[0]]

    @property
    def text(self) -> str:
        return " ".join(self.vocab[i] for i in self.ids)

    def nlls(self, shift: int = 1) -> torch.Tensor:
        """The true NLLs (float64), or with ``shift=0`` the classic off-by-one (token i scored
        with the logits at i)."""
        ids = torch.tensor(self.ids)
        logp = torch.log_softmax(self.table.double(), dim=-1)
        if shift == 1:
            return -logp[ids[:-1], ids[1:]]
        return -logp[ids[1:], ids[1:]]

    def perplexity(self) -> float:
        return math.exp(float(self.nlls().mean()))


@st.composite
def cases(draw: st.DrawFn, uniform: bool = False) -> Case:
    vocab = draw(st.integers(2, len(WORDS)))
    length = draw(st.integers(2, 12))
    seed = draw(st.integers(0, MAX_SEED))
    scale = draw(st.sampled_from([0.5, 1.0, 3.0]))
    table = torch.zeros(vocab, vocab) if uniform else randn(seed, vocab, vocab) * scale
    ids = tuple(int(i) for i in torch.randint(0, vocab, (length,), generator=seeded(seed + 1)))
    return Case(table, ids)


@st.composite
def tiny_cases(draw: st.DrawFn) -> Case:
    """Bigram cases where every second predicted token has a logit 15 to 25 below the best of its
    row: probabilities down to 1e-11, where -log(softmax + 1e-9) and the like are visibly off."""
    case = draw(cases())
    table = case.table.clone()
    for i in range(1, len(case.ids), 2):
        row, token = case.ids[i - 1], case.ids[i]
        others = torch.cat([table[row, :token], table[row, token + 1 :]])
        if others.numel():
            table[row, token] = float(others.max()) - draw(st.integers(15, 25))
    return Case(table, case.ids)


def _objects(ctx: Context, case: Case):
    model = ctx.student.new("TableLM", case.table)
    tokenizer = ctx.student.new("WhitespaceTokenizer", list(case.vocab))
    return model, tokenizer


def _call(name: str, model, tokenizer, case: Case) -> str:
    return f'{name}({model.name}, {tokenizer.name}, "{case.text}")'


def _as_vector(value: object, length: int, call: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        fail(f"type(result)={type_name(value)}, but should be torch.Tensor of shape ({length},) [{call}]")
    expect(
        tuple(value.shape) == (length,),
        f"result.shape={tuple(value.shape)}, but should be ({length},): one NLL for each of the T - 1 = {length} tokens after the first [{call}]",
        "logits[:, i - 1] predict token i: score tokens 1..T-1 with the logits at 0..T-2",
    )
    expect(value.is_floating_point(), f"result.dtype={value.dtype}, but should be a floating-point dtype [{call}]")
    return value.detach().double()


def _nll_hint(got: torch.Tensor, case: Case) -> str:
    true = case.nlls()
    if torch.allclose(got, case.nlls(shift=0), atol=1e-4):
        return "this is token i scored with the logits at position i: the logits at position i - 1 predict token i (the off-by-one)"
    if torch.allclose(got, -true, atol=1e-4):
        return "these are log-probabilities: the NLL is their negative"
    if torch.allclose(got, true / math.log(2), atol=1e-4):
        return "these are in bits: use the natural logarithm (nats)"
    if torch.allclose(got, torch.exp(-true), atol=1e-4):
        return "these are probabilities: the NLL is -log p"
    return "entry i - 1 is -log softmax(logits[0, i - 1])[input_ids[0, i]], the softmax over the vocabulary axis"


@checks.add("token_nlls", "returns a 1-D float tensor of T - 1 non-negative NLLs")
def nll_shape(ctx: Context) -> None:
    def body(case: Case) -> None:
        model, tokenizer = _objects(ctx, case)
        call = _call("token_nlls", model, tokenizer, case)
        got = _as_vector(ctx.student.call("token_nlls", model, tokenizer, case.text), len(case.ids) - 1, call)
        expect(bool(torch.isfinite(got).all()) and bool((got >= -1e-6).all()), f"result={got.tolist()}, but should hold finite values >= 0 [{call}]", _nll_hint(got, case))

    ctx.forall(cases(), body, max_examples=2)


@checks.add("token_nlls", "entry i - 1 is -log p(token i | tokens < i) from the logits at i - 1 (bigram models)", weight=3)
def nll_values(ctx: Context) -> None:
    def body(case: Case) -> None:
        model, tokenizer = _objects(ctx, case)
        call = _call("token_nlls", model, tokenizer, case)
        got = _as_vector(ctx.student.call("token_nlls", model, tokenizer, case.text), len(case.ids) - 1, call)
        expect_tensor(got, case.nlls(), "result", call, atol=1e-4, rtol=1e-4, hint=_nll_hint(got, case))

    ctx.forall(cases(), body, max_examples=5)


@checks.add("token_nlls", "a model with uniform logits gives every token an NLL of ln V")
def nll_uniform(ctx: Context) -> None:
    def body(case: Case) -> None:
        model, tokenizer = _objects(ctx, case)
        call = _call("token_nlls", model, tokenizer, case) + f" with all logits 0, V = {len(case.vocab)}"
        got = _as_vector(ctx.student.call("token_nlls", model, tokenizer, case.text), len(case.ids) - 1, call)
        expect_tensor(got, case.nlls(), "result", call, atol=1e-4, rtol=1e-4, hint=_nll_hint(got, case))

    ctx.forall(cases(uniform=True), body, max_examples=2)


@checks.add("token_nlls", "tiny probabilities (logit gaps of 15 to 25, p down to 1e-11) get their exact NLLs")
def nll_tiny(ctx: Context) -> None:
    def body(case: Case) -> None:
        model, tokenizer = _objects(ctx, case)
        call = _call("token_nlls", model, tokenizer, case) + ", some tokens 15 to 25 logits below the best of their row"
        got = _as_vector(ctx.student.call("token_nlls", model, tokenizer, case.text), len(case.ids) - 1, call)
        hint = _nll_hint(got, case)
        if torch.allclose(got, -torch.log(torch.exp(-case.nlls()) + 1e-9), atol=1e-3):
            hint = "this is -log(p + 1e-9): a constant added to p swamps tiny probabilities. Use log_softmax (it is exact and never gives log 0)"
        expect_tensor(got, case.nlls(), "result", call, atol=1e-4, rtol=1e-4, hint=hint)

    ctx.forall(tiny_cases(), body, max_examples=3)


def _as_number(value: object, call: str) -> float:
    """The value of a float, a 0-d / one-element tensor or a numpy float (the type has its own check)."""
    if type(value) in (float, int):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return float(value.reshape(-1)[0])
    if isinstance(value, (np.floating, np.ndarray)) and np.size(value) == 1:
        return float(np.asarray(value).reshape(-1)[0])
    fail(f"type(result)={type_name(value)}, but should be float [{call}]")
    return 0.0


def _own_perplexity(ctx: Context, model, tokenizer, case: Case) -> Optional[float]:
    """exp(mean) of the submission's own token_nlls on this text, if it gives a usable vector."""
    mark = len(ctx.student.log)
    try:
        own = ctx.student.call("token_nlls", model, tokenizer, case.text)
    except SubmissionError:
        own = None
    del ctx.student.log[mark:]  # not part of the reproducer
    if not isinstance(own, torch.Tensor) or own.numel() == 0 or not own.is_floating_point():
        return None
    mean = float(own.double().mean())
    return math.exp(mean) if mean < 700 else None


def _perplexity_hint(got: float, case: Case) -> str:
    nlls = case.nlls()
    guesses = {
        "this is the mean NLL: the perplexity is exp(mean NLL)": float(nlls.mean()),
        "the mean is over the T - 1 predicted tokens, not over T": math.exp(float(nlls.sum()) / len(case.ids)),
        "take exp of the mean NLL, not the mean of exp(NLL)": float(nlls.exp().mean()),
        "with NLLs in nats the perplexity is exp(mean NLL), not 2 ** mean NLL": 2 ** float(nlls.mean()),
        "this is exp of the total NLL: divide by the number of predicted tokens first": math.exp(min(float(nlls.sum()), 700)),
    }
    for text, value in guesses.items():
        if math.isclose(got, value, rel_tol=1e-4, abs_tol=1e-6):
            return text
    return "perplexity = exp(mean over tokens 1..T-1 of -log p(token i | tokens < i))"


def _expect_perplexity(ctx: Context, case: Case, extra: str = "") -> None:
    model, tokenizer = _objects(ctx, case)
    call = _call("compute_perplexity", model, tokenizer, case) + extra
    got = _as_number(ctx.student.call("compute_perplexity", model, tokenizer, case.text), call)
    want = case.perplexity()
    if math.isclose(got, want, rel_tol=1e-4):
        return
    own = _own_perplexity(ctx, model, tokenizer, case)
    if own is not None and math.isclose(got, own, rel_tol=1e-4):
        return  # consistent with the submission's own token_nlls: charged to token_nlls
    fail(
        f"result={got:.6g}, but should be {want:.6g} = exp(mean NLL of the {len(case.ids) - 1} tokens after the first) [{call}]\n"
        f"  hint: {_perplexity_hint(got, case)}"
    )


@checks.add("perplexity", "returns a Python float")
def perplexity_type(ctx: Context) -> None:
    def body(case: Case) -> None:
        model, tokenizer = _objects(ctx, case)
        call = _call("compute_perplexity", model, tokenizer, case)
        got = ctx.student.call("compute_perplexity", model, tokenizer, case.text)
        if type(got) is not float:
            fail(f"type(result)={type_name(got)}, but should be float [{call}]\n  hint: convert with float(...) or .item()")

    ctx.forall(cases(), body, max_examples=2)


@checks.add("perplexity", "a model with uniform logits over V tokens has perplexity V")
def perplexity_uniform(ctx: Context) -> None:
    def body(case: Case) -> None:
        _expect_perplexity(ctx, case, f" with all logits 0, V = {len(case.vocab)}")

    ctx.forall(cases(uniform=True), body, max_examples=2)


@checks.add("perplexity", "equals exp(mean NLL) over tokens 1..T-1 (bigram models)", weight=2)
def perplexity_values(ctx: Context) -> None:
    def body(case: Case) -> None:
        _expect_perplexity(ctx, case)

    ctx.forall(cases(), body, max_examples=5)
