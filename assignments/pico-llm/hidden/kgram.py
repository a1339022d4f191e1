"""Hidden tests for Part 2: KGramMLPSeqModel (time-first: tokens (T, B) -> logits (T, B, V)).

The defining property is locality: the logits at position t depend on exactly the k tokens at
positions t-k+1 .. t of the same sequence. It is checked by changing one token and seeing which
logits move. The original starter's window ends at t-1 (it never sees the current token); that
window moves the logits at s+1 .. s+k instead of s .. s+k-1, and the message says so.
``num_inner_layers`` runs from 1 to 3, and every inner layer must have weights of its own (the
model learns more numbers with every extra layer: ``[layer] * n`` shares one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from autograder.checking.compare import expect, fail
from autograder.checking.models import parameter_count, randomise_parameters, time_first_logits
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, randint, seeded

checks = Checks()

SYMBOL = "KGramMLPSeqModel"
EMBED = 16  # small MLPs: fast, and still sensitive to every input
MOVED = 1e-5  # a logit row "moved" when some entry changed by more than this
SAME = 1e-5  # ... and "stayed" when every entry is within this


@dataclass(frozen=True)
class Case:
    vocab: int
    k: int
    length: int
    batch: int
    chunk: int
    seed: int
    layers: int = 1  # num_inner_layers

    def tokens(self, offset: int = 0) -> torch.Tensor:
        return randint(self.seed + offset, self.vocab, (self.length, self.batch))

    def call(self) -> str:
        return f"{SYMBOL}({self.vocab}, k={self.k}, embed_size={EMBED}, num_inner_layers={self.layers}, chunk_size={self.chunk})"


@st.composite
def cases(draw: st.DrawFn, min_k: int = 1, min_length: int = 1) -> Case:
    return Case(
        vocab=draw(st.integers(2, 6)),
        k=draw(st.integers(min_k, 4)),
        length=draw(st.integers(min_length, 7)),
        batch=draw(st.integers(1, 3)),
        chunk=draw(st.integers(1, 3)),
        seed=draw(st.integers(0, MAX_SEED)),
        layers=draw(st.integers(1, 3)),
    )


def _new(ctx: Context, case: Case):
    ctx.student.seed(case.seed)
    model = ctx.student.new(SYMBOL, case.vocab, k=case.k, embed_size=EMBED, num_inner_layers=case.layers, chunk_size=case.chunk)
    randomise_parameters(model, case.seed)
    model.attr("eval")()
    return model


@checks.add("kgram_mlp", "forward maps tokens (T, B) to finite logits (T, B, vocab_size)")
def shapes(ctx: Context) -> None:
    def body(case: Case) -> None:
        model = _new(ctx, case)
        time_first_logits(model, case.tokens(), case.vocab, f"model = {case.call()}; model(tokens of shape {(case.length, case.batch)})")

    ctx.forall(cases(), body, max_examples=2)


def _moved(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(T, B) booleans: whether the logits at [t, b] moved."""
    return (a - b).abs().amax(dim=-1) > MOVED


def _window_text(rows: List[int]) -> str:
    return "none" if not rows else f"{rows[0]}..{rows[-1]}" if len(rows) > 1 else str(rows[0])


@st.composite
def change_cases(draw: st.DrawFn) -> Tuple[Case, int, int, int]:
    case = draw(cases())
    position = draw(st.integers(0, case.length - 1))
    column = draw(st.integers(0, case.batch - 1))
    shift = draw(st.integers(1, case.vocab - 1))  # the new token differs from the old one
    return case, position, column, shift


@checks.add("kgram_mlp", "logits at t depend on exactly the k tokens t-k+1..t of their own sequence", weight=2)
def locality(ctx: Context) -> None:
    def body(example: Tuple[Case, int, int, int]) -> None:
        case, s, column, shift = example
        model = _new(ctx, case)
        tokens = case.tokens()
        changed = tokens.clone()
        changed[s, column] = (changed[s, column] + shift) % case.vocab
        call = f"{case.call()} on tokens (T={case.length}, B={case.batch}), then on them with token [{s}, {column}] changed"
        before = time_first_logits(model, tokens, case.vocab, call)
        after = time_first_logits(model, changed, case.vocab, call)
        moved = _moved(before, after)
        want = torch.zeros_like(moved)
        want[s : s + case.k, column] = True
        if torch.equal(moved, want):
            return
        got_rows = [t for t in range(case.length) if moved[t, column]]
        want_rows = [t for t in range(case.length) if want[t, column]]
        other = [(t, b) for t in range(case.length) for b in range(case.batch) if b != column and moved[t, b]]
        if other:
            t, b = other[0]
            fail(
                f"logits[{t}, {b}] changed when only token [{s}, {column}] of another sequence changed, but should not: "
                f"sequences in a batch never influence each other [{call}]\n"
                "  hint: tokens are (T, B): axis 0 is time, axis 1 the batch"
            )
        hint = "the window of position t is tokens t-k+1, ..., t of the same sequence (the current token included)"
        if got_rows == [t + 1 for t in want_rows if t + 1 < case.length] and got_rows != want_rows:
            hint = (
                "the logits moved one position too late: the window ends at t-1, as in the original starter, so "
                "position t never sees its own token. Use tokens t-k+1 .. t"
            )
        fail(
            f"changing token [{s}, {column}] moved the logits at positions {_window_text(got_rows)} of sequence {column}, "
            f"but should move exactly those at {_window_text(want_rows)} (k={case.k}) [{call}]\n  hint: {hint}"
        )

    # A window in the middle of a longer sequence, with neighbours in the batch and inner layers:
    # where a shifted window, a window of the wrong size and a batch read as time all show.
    ctx.forall(change_cases(), body, max_examples=2, examples=[(Case(vocab=5, k=3, length=7, batch=3, chunk=2, seed=11, layers=2), 3, 1, 2)])


@checks.add("kgram_mlp", "positions before the start count as token 0: logits equal those of the sequence prefixed with k-1 zeros")
def padding(ctx: Context) -> None:
    def body(case: Case) -> None:
        model = _new(ctx, case)
        tokens = case.tokens()
        prefixed = torch.cat([torch.zeros(case.k - 1, case.batch, dtype=torch.long), tokens])
        call = f"{case.call()}: model(tokens) against model(cat([zeros({case.k - 1}, {case.batch}), tokens]))[{case.k - 1}:]"
        plain = time_first_logits(model, tokens, case.vocab, call)
        longer = time_first_logits(model, prefixed, case.vocab, call)[case.k - 1 :]
        bad = (plain - longer).abs().amax(dim=-1) > SAME
        if bad.any():
            t, b = (int(i) for i in bad.nonzero()[0])
            fail(
                f"logits[{t}, {b}] differ from those of the same window with explicit zeros in front (max |difference| "
                f"{float((plain - longer).abs().max()):.3g}), but should be equal: the window of position t < k-1 is "
                f"padded on the left with token id 0 [{call}]"
            )

    ctx.forall(cases(min_k=2), body, max_examples=2)


@checks.add("kgram_mlp", "every inner layer learns weights of its own: more num_inner_layers, more parameters (1 to 3)")
def inner_layers(ctx: Context) -> None:
    def body(case: Case) -> None:
        counts = []
        for layers in (1, 2, 3):
            ctx.student.seed(case.seed)
            model = ctx.student.new(SYMBOL, case.vocab, k=case.k, embed_size=EMBED, num_inner_layers=layers, chunk_size=case.chunk)
            counts.append(parameter_count(model))
        call = f"{SYMBOL}({case.vocab}, k={case.k}, embed_size={EMBED}, num_inner_layers=L, chunk_size={case.chunk}) for L = 1, 2, 3"
        ctx.student.log.append(f"[sum(p.numel() for p in {SYMBOL}({case.vocab}, k={case.k}, embed_size={EMBED}, num_inner_layers=L).parameters()) for L in (1, 2, 3)]")
        if not counts[0] < counts[1] < counts[2]:
            fail(
                f"the models have {counts[0]}, {counts[1]} and {counts[2]} parameters, but should have more with every extra "
                f"inner layer [{call}]\n"
                "  hint: create a new nn.Linear for every inner layer (in a loop); [layer] * n repeats one layer, "
                "whose weights are then shared"
            )

    ctx.forall(cases(), body, max_examples=1)


LEARN_VOCAB, LEARN_K, LEARN_LENGTH, LEARN_SEQUENCES = 4, 2, 12, 24
LEARN_STEPS, LEARN_LR = 80, 1e-2
LEARN_LIMIT = 0.5  # mean loss on fresh sequences; chance is ln 4 = 1.39, the best possible ~0.13


def _rule_sequences(count: int, seed: int) -> torch.Tensor:
    """(T, count) sequences of a fixed 2-gram rule: two random tokens, then each token is
    RULE[previous two] (only the first prediction is a guess)."""
    rule = torch.randint(0, LEARN_VOCAB, (LEARN_VOCAB, LEARN_VOCAB), generator=seeded(1234))
    tokens = torch.zeros(LEARN_LENGTH, count, dtype=torch.long)
    tokens[:2] = torch.randint(0, LEARN_VOCAB, (2, count), generator=seeded(seed))
    for t in range(2, LEARN_LENGTH):
        tokens[t] = rule[tokens[t - 2], tokens[t - 1]]
    return tokens


@checks.add("kgram_mlp", "the MLP learns a 2-gram rule with the given train_steps (80 Adam steps)")
def learns(ctx: Context) -> None:
    ctx.student.begin_example()  # a fresh reproducer: this check is not a hypothesis property
    ctx.student.seed(0)
    call = f"model = {SYMBOL}({LEARN_VOCAB}, k={LEARN_K}, embed_size=32, num_inner_layers=1, chunk_size={LEARN_LENGTH})"
    model = ctx.student.new(SYMBOL, LEARN_VOCAB, k=LEARN_K, embed_size=32, num_inner_layers=1, chunk_size=LEARN_LENGTH)
    train = _rule_sequences(LEARN_SEQUENCES, 1)
    losses = ctx.student.call("train_steps", model, train, LEARN_STEPS, LEARN_LR)
    call += f"; train_steps(model, tokens, {LEARN_STEPS}, {LEARN_LR})"
    expect(isinstance(losses, list) and len(losses) == LEARN_STEPS, f"train_steps returned {type(losses).__name__}, but should return {LEARN_STEPS} losses [{call}]")
    test = _rule_sequences(64, 2)
    logits = time_first_logits(model, test, LEARN_VOCAB, call + "; model(fresh sequences)")
    loss = float(F.cross_entropy(logits[:-1].reshape(-1, LEARN_VOCAB).double(), test[1:].reshape(-1)))
    expect(
        loss < LEARN_LIMIT,
        f"after training, the loss on fresh sequences of the rule is {loss:.3f} (it went from {losses[0]:.3f} to "
        f"{losses[-1]:.3f} in training), but should be below {LEARN_LIMIT} [{call}]",
        "self.net must be trainable (nn.Linear layers registered as submodules) and see the whole window",
    )
