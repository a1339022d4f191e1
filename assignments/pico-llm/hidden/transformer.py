"""Hidden tests for Part 4: TransformerModel(vocab_size, d_model, n_heads, n_blocks), time-first.

Properties of any causal decoder-only language model over (T, B) token ids: the logits at t
never depend on tokens after t (changing the future leaves the past alone), the sequences of a
batch never influence each other (each one's logits equal those it gets alone), and the model
learns a task that needs attention to an earlier position, in a bounded number of steps of the
given ``train_steps``. Treating (T, B) as (B, T) runs attention across the batch, which the
batch check catches and names.

Parameters are re-drawn from a seeded generator before the property checks, so that every input
moves the outputs visibly whatever the submission's initialisation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from autograder.checking.compare import expect, fail
from autograder.checking.models import randomise_parameters, time_first_logits
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, seeded

checks = Checks()

SYMBOL = "TransformerModel"
SAME = 1e-5


@dataclass(frozen=True)
class Case:
    vocab: int
    d_model: int
    heads: int
    blocks: int
    length: int
    batch: int
    seed: int

    def tokens(self, offset: int = 0) -> torch.Tensor:
        return torch.randint(0, self.vocab, (self.length, self.batch), generator=seeded(self.seed + offset))

    def new_text(self) -> str:
        return f"{SYMBOL}({self.vocab}, {self.d_model}, {self.heads}, {self.blocks})"


@st.composite
def cases(draw: st.DrawFn, min_length: int = 1, min_batch: int = 1) -> Case:
    heads = draw(st.sampled_from([1, 2, 4]))
    return Case(
        vocab=draw(st.integers(2, 10)),
        d_model=heads * draw(st.integers(2, 4)),
        heads=heads,
        blocks=draw(st.integers(1, 2)),
        length=draw(st.integers(min_length, 7)),
        batch=draw(st.integers(min_batch, 3)),
        seed=draw(st.integers(0, MAX_SEED)),
    )




def _new(ctx: Context, case: Case, randomise: bool = True):
    ctx.student.seed(case.seed)
    model = ctx.student.new(SYMBOL, case.vocab, case.d_model, case.heads, case.blocks)
    if randomise:
        randomise_parameters(model, case.seed)
    model.attr("eval")()  # dropout, if any, off
    return model




@checks.add("transformer_model", "forward maps tokens (T, B) to finite logits (T, B, vocab_size)")
def shapes(ctx: Context) -> None:
    def body(case: Case) -> None:
        model = _new(ctx, case, randomise=False)
        time_first_logits(model, case.tokens(), case.vocab, f"model = {case.new_text()}; model(tokens of shape {(case.length, case.batch)})")

    ctx.forall(cases(), body, max_examples=8)


@st.composite
def future_cases(draw: st.DrawFn) -> Tuple[Case, int]:
    case = draw(cases(min_length=2))
    return case, draw(st.integers(1, case.length - 1))


@checks.add("transformer_model", "causal: changing tokens after position s leaves the logits at 0..s-1 unchanged", weight=2)
def causal(ctx: Context) -> None:
    def body(example: Tuple[Case, int]) -> None:
        case, first = example
        model = _new(ctx, case)
        tokens = case.tokens()
        changed = tokens.clone()
        changed[first:] = (changed[first:] + 1 + case.tokens(1)[first:] % (case.vocab - 1)) % case.vocab  # every later token differs
        call = f"{model.name} = {case.new_text()}; {model.name}(tokens) and {model.name}(tokens with positions {first}.. changed), tokens (T={case.length}, B={case.batch})"
        before = time_first_logits(model, tokens, case.vocab, call)
        after = time_first_logits(model, changed, case.vocab, call)
        moved = (before[:first] - after[:first]).abs().amax(dim=-1) > SAME  # (first, B)
        if moved.any():
            t, b = (int(i) for i in moved.nonzero()[0])
            fail(
                f"logits[{t}, {b}] changed when only tokens at positions {first}..{case.length - 1} changed, but should not: "
                f"the prediction at position t may only read positions 0..t [{call}]\n"
                "  hint: mask the attention scores of every later position (a lower-triangular mask over the time "
                "axis, which is axis 0 of the tokens) before the softmax, in every block"
            )

    ctx.forall(future_cases(), body)


@checks.add("transformer_model", "sequences in a batch never influence each other: each gets the logits it gets alone", weight=2)
def batch_independent(ctx: Context) -> None:
    def body(case: Case) -> None:
        model = _new(ctx, case)
        tokens = case.tokens()
        call = f"{model.name} = {case.new_text()}; {model.name}(tokens) against {model.name}(tokens[:, b:b+1]), tokens (T={case.length}, B={case.batch})"
        together = time_first_logits(model, tokens, case.vocab, call)
        for b in range(case.batch):
            alone = time_first_logits(model, tokens[:, b : b + 1], case.vocab, call)[:, 0]
            gap = (together[:, b] - alone).abs().amax(dim=-1)  # (T,)
            if bool((gap > SAME).any()):
                t = int((gap > SAME).nonzero()[0])
                fail(
                    f"logits[{t}, {b}] of the batch differ from those of sequence {b} alone by {float(gap[t]):.3g}, but should "
                    f"be equal: sequences in a batch must not influence each other [{call}]\n"
                    "  hint: tokens are time-first, (T, B): if attention or a mask runs over axis 0 as if it were the batch, "
                    "it mixes sequences instead of positions. Move the batch axis first (or transpose) before attention"
                )

    ctx.forall(cases(min_batch=2), body)


LEARN_VOCAB, LEARN_LENGTH, LEARN_STEPS, LEARN_LR = 6, 8, 60, 1e-2
LEARN_SIZES = (16, 2, 1)  # d_model, n_heads, n_blocks
LEARN_LIMIT = 0.6  # mean loss; a model that cannot look back is stuck at ln 5 = 1.61; the floor is 0.23


def _pair_sequences() -> torch.Tensor:
    """(T, 30): for every pair a != b, the sequence a b a b ... The next token is always the
    one before the current one, which only attention to an earlier position can tell."""
    pairs = [(a, b) for a in range(LEARN_VOCAB) for b in range(LEARN_VOCAB) if a != b]
    first = torch.tensor([a for a, _ in pairs])
    second = torch.tensor([b for _, b in pairs])
    return torch.stack([first, second] * (LEARN_LENGTH // 2))


@checks.add("transformer_model", "learns a sequence task that needs attention (a b a b ...) in 60 steps of the given train_steps", weight=2)
def learns(ctx: Context) -> None:
    ctx.student.begin_example()  # a fresh reproducer: this check is not a hypothesis property
    ctx.student.seed(0)
    d_model, heads, blocks = LEARN_SIZES
    call = f"model = {SYMBOL}({LEARN_VOCAB}, {d_model}, {heads}, {blocks}); train_steps(model, tokens, {LEARN_STEPS}, {LEARN_LR})"
    model = ctx.student.new(SYMBOL, LEARN_VOCAB, d_model, heads, blocks)
    tokens = _pair_sequences()
    losses = ctx.student.call("train_steps", model, tokens, LEARN_STEPS, LEARN_LR)
    expect(isinstance(losses, list) and len(losses) == LEARN_STEPS, f"train_steps returned {type(losses).__name__}, but should return {LEARN_STEPS} losses [{call}]")
    logits = time_first_logits(model, tokens, LEARN_VOCAB, call + "; model(tokens)")
    loss = float(F.cross_entropy(logits[:-1].reshape(-1, LEARN_VOCAB).double(), tokens[1:].reshape(-1)))
    expect(
        loss < LEARN_LIMIT,
        f"after training on the sequences a b a b ... (every pair a != b of {LEARN_VOCAB} tokens, T={LEARN_LENGTH}), the loss is "
        f"{loss:.3f} (training went from {losses[0]:.3f} to {losses[-1]:.3f}), but should be below {LEARN_LIMIT}: predicting "
        f"the next token needs the previous one, which only attention can read (without it the loss stays near 1.61) [{call}]",
        "check that attention mixes positions 0..t along the time axis, that every block has a residual connection, and that all "
        "layers are registered submodules (nn.ModuleList, not a Python list) so that the optimizer trains them",
    )
