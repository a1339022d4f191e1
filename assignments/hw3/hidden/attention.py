"""Hidden tests for Part 2: AttentionHead, MultiHeadedAttention, Transformer.

Each problem is graded on its own: MultiHeadedAttention is checked against the submission's own
heads and Transformer against the submission's own layers, so that one bug costs points once.
"""
from __future__ import annotations

import math
import hypothesis
import torch
from hypothesis import strategies as st

from autograder.checking.compare import expect, expect_tensor, expect_type, fail
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import SequenceBatch, randn, sequence_batches

checks = Checks()


def _masked_args(batch: SequenceBatch) -> dict:
    return {} if batch.mask is None else {"attn_mask": batch.mask}


def _pair(result: object, call: str, first: str, second: str) -> tuple:
    expect_type(result, [tuple, list], "the result", call)
    expect(len(result) == 2, f"len(result)={len(result)}, but should be 2 ({first}, {second}) [{call}]")
    return result[0], result[1]


def _random_state(module: torch.nn.Module, seed: int) -> dict:
    """Every parameter drawn afresh from a seeded generator: distinct values everywhere."""
    return {k: randn(seed + i, *v.shape) * 0.5 for i, (k, v) in enumerate(module.state_dict().items())}


# -------------------------------------------------------------------------------------------
# AttentionHead


@st.composite
def head_cases(draw: st.DrawFn, need_mask: bool = False):
    return draw(sequence_batches(need_mask=need_mask)), draw(st.integers(1, 5))


@checks.add("attention_head", "out has shape (B, T, n_hidden) and alpha (B, T, T)")
def head_shapes(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden = case
        b, t, dim = batch.shape
        head = ctx.student.new("AttentionHead", dim, n_hidden)
        call = f"{head.name}(x, ...)"
        out, alpha = _pair(head(batch.x, **_masked_args(batch)), call, "out", "alpha")
        expect_type(out, [torch.Tensor], "out", call)
        expect_type(alpha, [torch.Tensor], "alpha", call)
        expect(tuple(out.shape) == (b, t, n_hidden), f"out.shape={tuple(out.shape)}, but should be {(b, t, n_hidden)} [{call}]")
        expect(tuple(alpha.shape) == (b, t, t), f"alpha.shape={tuple(alpha.shape)}, but should be {(b, t, t)} [{call}]")

    ctx.forall(head_cases(), body)


@checks.add("attention_head", "alpha rows sum to 1 and masked weights are exactly 0", weight=2)
def head_invariants(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden = case
        _, _, dim = batch.shape
        head = ctx.student.new("AttentionHead", dim, n_hidden)
        call = f"{head.name}(x, attn_mask=mask)"
        _, alpha = _pair(head(batch.x, attn_mask=batch.mask), call, "out", "alpha")
        expect_type(alpha, [torch.Tensor], "alpha", call)
        mask = batch.mask.expand(alpha.shape) if alpha.dim() == 3 and tuple(alpha.shape[-2:]) == tuple(batch.mask.shape[-2:]) else None
        if mask is None:
            fail(f"alpha.shape={tuple(alpha.shape)}, but should be {(batch.shape[0], batch.shape[1], batch.shape[1])} [{call}]")
        masked = alpha[mask == 0]
        if masked.numel() and masked.abs().max() != 0:
            index = [int(i) for i in (mask == 0).nonzero()[(alpha[mask == 0] != 0).nonzero()[0, 0]]]
            fail(
                f"alpha{index}={alpha[tuple(index)].item():.6g}, but should be exactly 0 since mask{index}=0 [{call}]",
            )
        sums = alpha.sum(dim=-1)
        expect_tensor(
            sums,
            torch.ones_like(sums),
            "alpha.sum(dim=-1)",
            call,
            atol=1e-4,
            hint="each row alpha[b, i, :] is a distribution over the positions token i may attend to: "
            "remove masked scores before the softmax, and take the softmax over the last axis",
        )

    ctx.forall(head_cases(need_mask=True), body)


@checks.add("attention_head", "with the reference's weights, out and alpha equal softmax(QK^T/sqrt(n_hidden)) and alpha V", weight=2)
def head_differential(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden = case
        _, _, dim = batch.shape
        torch.manual_seed(batch.seed)
        reference = ctx.ref.AttentionHead(dim, n_hidden)
        state = _random_state(reference, batch.seed)
        reference.load_state_dict(state)
        with torch.no_grad():
            want_out, want_alpha = reference(batch.x, **_masked_args(batch))
        head = ctx.student.new("AttentionHead", dim, n_hidden)
        head.load_state_dict(state)
        call = f"{head.name}(x{'' if batch.mask is None else ', attn_mask=mask'})"
        out, alpha = _pair(head(batch.x, **_masked_args(batch)), call, "out", "alpha")
        expect_tensor(alpha, want_alpha, "alpha", call, hint=f"scores are Q K^T / sqrt(n_hidden) = / {math.sqrt(n_hidden):.4g}")
        expect_tensor(out, want_out, "out", call)

    ctx.forall(head_cases(), body)


@checks.add("attention_head", "queries and keys of zero give uniform attention over the allowed positions")
def head_known_answer(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden = case
        b, t, dim = batch.shape
        head = ctx.student.new("AttentionHead", dim, n_hidden)
        state = {k: torch.zeros_like(v) for k, v in head.state_dict().items()}
        for name in ("W_V.weight", "W_V.bias"):
            if name not in state:
                fail(f"{head.name}.state_dict() has no {name!r}, but should: W_V = nn.Linear(dim, n_hidden) with a bias [{head.name}.state_dict()]")
        state["W_V.weight"] = randn(batch.seed, n_hidden, dim)
        state["W_V.bias"] = randn(batch.seed + 1, n_hidden)
        head.load_state_dict(state)
        mask = batch.mask.expand(b, t, t).to(torch.float32)
        want_alpha = mask / mask.sum(-1, keepdim=True)
        want_out = want_alpha @ (batch.x @ state["W_V.weight"].T + state["W_V.bias"])
        call = f"{head.name}(x, attn_mask=mask) with W_Q and W_K all zero"
        out, alpha = _pair(head(batch.x, attn_mask=batch.mask), call, "out", "alpha")
        expect_tensor(alpha, want_alpha, "alpha", call, hint="equal scores must give equal weights over the allowed positions")
        expect_tensor(out, want_out, "out", call)

    ctx.forall(head_cases(need_mask=True), body)


# -------------------------------------------------------------------------------------------
# MultiHeadedAttention


@st.composite
def multi_cases(draw: st.DrawFn):
    return draw(sequence_batches()), draw(st.integers(1, 4)), draw(st.integers(1, 3))


@checks.add("multi_headed_attention", "out has shape (B, T, dim) and alphas (B, num_heads, T, T)")
def multi_shapes(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden, heads = case
        b, t, dim = batch.shape
        mha = ctx.student.new("MultiHeadedAttention", dim, n_hidden, heads)
        for i in range(heads):  # a head that raises is AttentionHead's problem, not this one's
            ctx.prerequisite(mha.attr(f"heads.{i}"), batch.x, **_masked_args(batch))
        call = f"{mha.name}(x, ...)"
        out, alphas = _pair(mha(batch.x, **_masked_args(batch)), call, "out", "alphas")
        expect_type(out, [torch.Tensor], "out", call)
        expect_type(alphas, [torch.Tensor], "alphas", call)
        expect(tuple(out.shape) == (b, t, dim), f"out.shape={tuple(out.shape)}, but should be {(b, t, dim)} [{call}]")
        expect(
            tuple(alphas.shape) == (b, heads, t, t),
            f"alphas.shape={tuple(alphas.shape)}, but should be {(b, heads, t, t)} [{call}]",
            "stack the heads' alphas on axis 1",
        )

    ctx.forall(multi_cases(), body)


def _check_distinct(obj, what: str, container: str) -> None:
    """Load distinct values into every parameter and read them back: if ``container``'s items 0 and
    1 then hold equal values, they are one module listed twice."""
    state = obj.state_dict()
    call = f"{obj.name}.load_state_dict(state); {obj.name}.state_dict()"
    expect_type(state, [dict], f"{obj.name}.state_dict()", call)
    fresh = {k: randn(1000 + i, *v.shape) for i, (k, v) in enumerate(state.items()) if isinstance(v, torch.Tensor)}
    obj.load_state_dict(fresh)
    back = obj.state_dict()
    first, second = f"{container}.0.", f"{container}.1."
    pairs = [(k, second + k[len(first):]) for k in fresh if k.startswith(first)]
    expect(bool(pairs), f"{obj.name}.state_dict() has no keys starting with {first!r}, but should: {container} holds the {what}s [{call}]")
    for key, twin in pairs:
        if twin in back and torch.equal(back[key], back[twin]):
            fail(
                f"{obj.name}.state_dict()[{key!r}] equals [{twin!r}] after loading different values into them, "
                f"but should not: every {what} must be its own module [{call}]",
            )


@checks.add("multi_headed_attention", "every head is a distinct AttentionHead with its own weights")
def multi_distinct(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden, heads = case
        mha = ctx.student.new("MultiHeadedAttention", batch.shape[2], n_hidden, max(heads, 2))
        _check_distinct(mha, "head", "heads")

    ctx.forall(multi_cases(), body, max_examples=3)


@checks.add("multi_headed_attention", "out is W_O applied to the heads' outputs concatenated in head order", weight=2)
def multi_composition(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden, heads = case
        mha = ctx.student.new("MultiHeadedAttention", batch.shape[2], n_hidden, heads)
        args = _masked_args(batch)
        pieces = [
            _pair(ctx.prerequisite(mha.attr(f"heads.{i}"), batch.x, **args), f"{mha.name}.heads[{i}](x)", "out", "alpha")
            for i in range(heads)
        ]
        state = mha.state_dict()
        for key in ("W_O.weight", "W_O.bias"):
            expect(key in state, f"{mha.name}.state_dict() has no {key!r}, but should: W_O = nn.Linear(num_heads * n_hidden, dim)")
        want_out = torch.cat([p[0] for p in pieces], dim=-1) @ state["W_O.weight"].T + state["W_O.bias"]
        want_alphas = torch.stack([p[1] for p in pieces], dim=1)
        call = f"{mha.name}(x{'' if batch.mask is None else ', attn_mask=mask'})"
        out, alphas = _pair(mha(batch.x, **args), call, "out", "alphas")
        expect_tensor(out, want_out, "out", call, hint="concatenate the heads' outputs on the last axis, in head order, then apply W_O")
        expect_tensor(alphas, want_alphas, "alphas", call, hint="alphas[:, h] is head h's alpha")

    ctx.forall(multi_cases(), body)


# -------------------------------------------------------------------------------------------
# Transformer


@st.composite
def transformer_cases(draw: st.DrawFn):
    batch = draw(sequence_batches(max_len=5, max_dim=5))
    return batch, draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 3))


def _new_transformer(ctx: Context, case):
    batch, attn_dim, mlp_dim, heads, layers = case
    return ctx.student.new("Transformer", batch.shape[2], attn_dim, mlp_dim, heads, layers)


def _own_layers(ctx: Context, model, batch: SequenceBatch, layers: int) -> tuple:
    """The submission's own layers applied one by one: (x, stacked alphas), or the example is dropped."""
    args = _masked_args(batch)
    x = batch.x
    collected = []
    for i in range(layers):
        step = f"{model.name}.layers[{i}](x{'' if batch.mask is None else ', attn_mask=mask'})"
        x, alphas = _pair(ctx.prerequisite(model.attr(f"layers.{i}"), x, **args), step, "x", "alphas")
        if not (isinstance(x, torch.Tensor) and isinstance(alphas, torch.Tensor) and x.shape == batch.x.shape):
            hypothesis.reject()  # the layers (MultiHeadedAttention) are broken: not this problem's to judge
        collected.append(alphas)
    return x, torch.stack(collected, dim=1)


@checks.add("transformer", "out has shape (B, T, dim); attention (B, num_layers, ...) only if return_attn")
def transformer_shapes(ctx: Context) -> None:
    def body(case) -> None:
        batch, _, _, _, layers = case
        b, t, dim = batch.shape
        model = _new_transformer(ctx, case)
        _, want = _own_layers(ctx, model, batch, layers)
        call = f"{model.name}(x, ..., return_attn=True)"
        out, attn = _pair(model(batch.x, return_attn=True, **_masked_args(batch)), call, "out", "attn")
        expect_type(out, [torch.Tensor], "out", call)
        expect(tuple(out.shape) == (b, t, dim), f"out.shape={tuple(out.shape)}, but should be {(b, t, dim)} [{call}]")
        expect_type(attn, [torch.Tensor], "attn", call)
        expect(
            tuple(attn.shape) == tuple(want.shape),
            f"attn.shape={tuple(attn.shape)}, but should be {tuple(want.shape)} [{call}]",
            "stack the layers' alphas on axis 1",
        )
        call = f"{model.name}(x, ...)"
        _, none = _pair(model(batch.x, **_masked_args(batch)), call, "out", "attn")
        expect(none is None, f"attn={type(none).__name__}, but should be None when return_attn is False [{call}]")

    ctx.forall(transformer_cases(), body)


@checks.add("transformer", "every layer is a distinct AttentionResidual with its own weights")
def transformer_distinct(ctx: Context) -> None:
    def body(case) -> None:
        batch, attn_dim, mlp_dim, heads, _ = case
        model = ctx.student.new("Transformer", batch.shape[2], attn_dim, mlp_dim, heads, 2)
        _check_distinct(model, "layer", "layers")

    ctx.forall(transformer_cases(), body, max_examples=3)


@checks.add("transformer", "out and attention equal the layers applied in order, each given the mask", weight=2)
def transformer_composition(ctx: Context) -> None:
    def body(case) -> None:
        batch, _, _, _, layers = case
        model = _new_transformer(ctx, case)
        want_out, want_attn = _own_layers(ctx, model, batch, layers)
        call = f"{model.name}(x{'' if batch.mask is None else ', attn_mask=mask'}, return_attn=True)"
        out, attn = _pair(model(batch.x, return_attn=True, **_masked_args(batch)), call, "out", "attn")
        expect_tensor(out, want_out, "out", call, hint="pass x through every layer in order, each with the same attn_mask")
        expect_tensor(attn, want_attn, "attn", call, hint="attn[:, l] is layer l's alphas")

    ctx.forall(transformer_cases(), body)
