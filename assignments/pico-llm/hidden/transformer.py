"""Hidden tests for Part 4: TransformerModel(vocab_size, d_model, n_heads, n_blocks), time-first.

Properties of any causal decoder-only language model over (T, B) token ids: the logits at t
never depend on tokens after t (changing the future leaves the past alone), the sequences of a
batch never influence each other (each one's logits equal those it gets alone), and the model
learns a task that needs attention to an earlier position, in a bounded number of steps of the
given ``train_steps``. Treating (T, B) as (B, T) runs attention across the batch, which the
batch check catches and names. Sequences of 33 to 64 tokens have a check of their own (a model
with room for only 32 positions fails it), and "RMSNorm throughout" is judged by behaviour: the
output must change when RMSNorm is replaced by nn.Identity, and must not when nn.LayerNorm is.

Parameters (never buffers: a causal mask kept with ``register_buffer`` stays as it is) are
re-drawn from a seeded generator before the property checks, so that every input moves the
outputs visibly whatever the submission's initialisation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Tuple

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from autograder.checking.compare import expect, fail
from autograder.checking.models import randomise_parameters, time_first_logits
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, randint
from autograder.checking.student import MissingSymbol, SubmissionError

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
        return randint(self.seed + offset, self.vocab, (self.length, self.batch))

    def new_text(self) -> str:
        return f"{SYMBOL}({self.vocab}, {self.d_model}, {self.heads}, {self.blocks})"


@st.composite
def cases(draw: st.DrawFn, min_length: int = 1, min_batch: int = 1, max_length: int = 7, max_batch: int = 3) -> Case:
    heads = draw(st.sampled_from([1, 2, 4]))
    return Case(
        vocab=draw(st.integers(2, 10)),
        d_model=heads * draw(st.integers(2, 4)),
        heads=heads,
        blocks=draw(st.integers(1, 2)),
        length=draw(st.integers(min_length, max_length)),
        batch=draw(st.integers(min_batch, max_batch)),
        seed=draw(st.integers(0, MAX_SEED)),
    )


# RMSNorm is graded on its own (Part 3). Here the session's module-level name RMSNorm stands for
# torch.nn.RMSNorm while a TransformerModel is built, so that a fault of the student's RMSNorm
# (one that mixes the batch, say) costs points there and not here too. Only torch's own class
# enters the sandbox, never reference code; a TransformerModel that cannot build torch's
# RMSNorm the way it calls its own (another signature) is graded with its own.
STAND_IN = "RMSNorm = torch.nn.RMSNorm  # your RMSNorm is graded in Part 3; here torch's stands in for it"


def _handles(ctx: Context) -> Dict[str, Any]:
    """Handles of the classes the norm substitutions use, fetched once per session."""
    memo = ctx.student.memo
    if "classes" not in memo:
        classes = {name: ctx.student.bookkeeping("torch", f"nn.{name}", get=True) for name in ("RMSNorm", "LayerNorm", "Identity")}
        try:
            classes["own"] = ctx.student.bookkeeping("RMSNorm", "", get=True)
        except MissingSymbol:
            classes["own"] = None  # no RMSNorm of the student's: nothing to restore
        memo["classes"] = classes
        memo["norm"] = "own"
    return memo["classes"]


def _set_global(ctx: Context, name: str, handle: Any) -> None:
    """The submission module's global ``name`` (looked up when a TransformerModel is built) = ``handle``."""
    ctx.student.bookkeeping(SYMBOL, "__init__.__globals__.__setitem__", name, handle)


def _use_norm(ctx: Context, kind: str) -> str:
    """Make RMSNorm(...) in the submission build ``kind``: "torch" (the stand-in), "own" or
    "identity"; the kind in force (the student's own if torch's could not be built)."""
    classes = _handles(ctx)
    memo = ctx.student.memo
    if kind == "torch" and memo.get("own_signature"):
        kind = "own"
    if memo["norm"] != kind:
        handle = {"torch": classes["RMSNorm"], "identity": classes["Identity"], "own": classes["own"]}[kind]
        if handle is not None:
            _set_global(ctx, "RMSNorm", handle)
        memo["norm"] = kind
    return kind


def _new(ctx: Context, case: Case, randomise: bool = True, norm: str = "torch"):
    kind = _use_norm(ctx, norm)
    ctx.student.seed(case.seed)
    if kind == "torch":
        ctx.student.log.append(STAND_IN)
    try:
        model = ctx.student.new(SYMBOL, case.vocab, case.d_model, case.heads, case.blocks)
        stand_in_failed = False
    except SubmissionError:
        if kind != "torch":
            raise
        stand_in_failed = True
    if stand_in_failed:  # (outside the handler: a failure here is the student's, not chained to ours)
        _use_norm(ctx, "own")
        log = ctx.student.log
        log[:] = [line for line in log if line != STAND_IN] + ["# torch.nn.RMSNorm could not stand in for your RMSNorm: yours is used"]
        try:
            model = ctx.student.new(SYMBOL, case.vocab, case.d_model, case.heads, case.blocks)
        finally:
            _use_norm(ctx, "torch")
        # It builds with its own RMSNorm only (another signature): graded with it from now on.
        ctx.student.memo["own_signature"] = True
        kind = _use_norm(ctx, "own")
    # The parameters' names depend on the classes the norms were built with, too.
    model.made += f" with {kind} norms, nn.LayerNorm {ctx.student.memo.get('layernorm', 'as is')}"
    if randomise:
        randomise_parameters(model, case.seed)
    model.attr("eval")()  # dropout, if any, off
    return model


@checks.add("transformer_model", "forward maps tokens (T, B) to finite logits (T, B, vocab_size)")
def shapes(ctx: Context) -> None:
    def body(case: Case) -> None:
        model = _new(ctx, case, randomise=False)
        time_first_logits(model, case.tokens(), case.vocab, f"model = {case.new_text()}; model(tokens of shape {(case.length, case.batch)})")

    ctx.forall(cases(), body, max_examples=2)


@st.composite
def future_cases(draw: st.DrawFn) -> Tuple[Case, int]:
    case = draw(cases(min_length=2))
    return case, draw(st.integers(1, case.length - 1))


def _expect_causal(ctx: Context, example: Tuple[Case, int]) -> None:
    """Changing the tokens at positions first.. leaves the logits at 0..first-1 alone."""
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


@checks.add("transformer_model", "causal: changing tokens after position s leaves the logits at 0..s-1 unchanged", weight=2)
def causal(ctx: Context) -> None:
    ctx.forall(future_cases(), lambda example: _expect_causal(ctx, example), max_examples=2)


@st.composite
def long_cases(draw: st.DrawFn) -> Tuple[Case, int]:
    case = draw(cases(min_length=33, max_length=64, max_batch=2))
    return case, draw(st.integers(1, case.length - 1))


@checks.add("transformer_model", "sequences of 33 to 64 tokens: finite logits, and still causal")
def long_sequences(ctx: Context) -> None:
    # The longest sequence the spec allows first: a model with room for fewer positions fails it.
    longest = (Case(vocab=5, d_model=8, heads=2, blocks=2, length=64, batch=2, seed=3), 17)
    ctx.forall(long_cases(), lambda example: _expect_causal(ctx, example), max_examples=1, examples=[longest])


@checks.add("transformer_model", "RMSNorm throughout: the model's norms are RMSNorm (the output depends on them), never nn.LayerNorm")
def rmsnorm_throughout(ctx: Context) -> None:
    classes = _handles(ctx)

    def logits(case: Case, norm: str, call: str) -> torch.Tensor:
        return time_first_logits(_new(ctx, case, norm=norm), case.tokens(), case.vocab, call)

    def body(case: Case) -> None:
        call = f"{case.new_text()}(tokens) with every norm as built, then with RMSNorm, then nn.LayerNorm replaced by nn.Identity"
        built = logits(case, "torch", call)
        try:
            ctx.student.bookkeeping("torch", "nn.__dict__.__setitem__", "RMSNorm", classes["Identity"])
            ctx.student.log.append("RMSNorm = torch.nn.Identity; torch.nn.RMSNorm = torch.nn.Identity")
            plain = logits(case, "identity", call)
        finally:
            ctx.student.bookkeeping("torch", "nn.__dict__.__setitem__", "RMSNorm", classes["RMSNorm"])
        if torch.equal(built, plain):
            fail(
                f"the logits stay exactly the same when RMSNorm is replaced by nn.Identity, but should change: the model "
                f"normalises with RMSNorm [{call}]\n"
                "  hint: use your RMSNorm before attention, before the MLP of every block and before the unembedding"
            )
        try:
            ctx.student.bookkeeping("torch", "nn.__dict__.__setitem__", "LayerNorm", classes["Identity"])
            ctx.student.memo["layernorm"] = "replaced by nn.Identity"
            ctx.student.log.append("torch.nn.LayerNorm = torch.nn.Identity")
            without = logits(case, "torch", call)
        finally:
            ctx.student.bookkeeping("torch", "nn.__dict__.__setitem__", "LayerNorm", classes["LayerNorm"])
            ctx.student.memo.pop("layernorm", None)
        if not torch.equal(built, without):
            fail(
                f"the logits change when nn.LayerNorm is replaced by nn.Identity, but should not: the handout asks for "
                f"RMSNorm throughout [{call}]\n"
                "  hint: LayerNorm subtracts the mean and adds a bias; build every norm with your RMSNorm class"
            )

    # Two blocks, two heads and a batch: every norm of every block counts.
    ctx.forall(cases(), body, max_examples=1, examples=[Case(vocab=6, d_model=8, heads=2, blocks=2, length=5, batch=2, seed=7)])


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

    # A longer batch of three, through two blocks: attention over the wrong axis mixes them.
    ctx.forall(cases(min_batch=2), body, max_examples=1, examples=[Case(vocab=7, d_model=8, heads=2, blocks=2, length=6, batch=3, seed=5)])


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
    d_model, heads, blocks = LEARN_SIZES
    call = f"model = {SYMBOL}({LEARN_VOCAB}, {d_model}, {heads}, {blocks}); train_steps(model, tokens, {LEARN_STEPS}, {LEARN_LR})"
    model = _new(ctx, Case(LEARN_VOCAB, d_model, heads, blocks, LEARN_LENGTH, 1, 0), randomise=False)
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
