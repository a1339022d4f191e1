"""Hidden tests for Part 2: AttentionHead, MultiHeadedAttention, Transformer.

Every call passes the mask argument positionally (``None`` where no mask is meant), so a forward
declared ``(self, x, attn_mask)`` without a default, or with the mask named ``mask``, is graded
like the handout's. Weights are loaded into the student's modules by shape and role
(``autograder.checking.params``), not by state-dict key. Each problem is graded on its own: in a
MultiHeadedAttention the heads', and in a Transformer the attention blocks', forward is the
reference's, computed in the grader with the weights loaded into them
(``autograder.checking.standins``), so that a bug in a building block costs points once, on its
own problem, and nothing the submission raises ever drops an example.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from hypothesis import strategies as st

from autograder.checking import params, standins
from autograder.checking.compare import CheckFailed, expect, expect_tensor, expect_type, fail
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import SequenceBatch, randn, sequence_batches

checks = Checks()


def _mask_text(batch: SequenceBatch) -> str:
    return "None" if batch.mask is None else "mask"


def _pair(result: object, call: str, first: str, second: str) -> tuple:
    expect_type(result, [tuple, list], "the result", call)
    expect(len(result) == 2, f"len(result)={len(result)}, but should be 2 ({first}, {second}) [{call}]")
    return result[0], result[1]


def _hints(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _expect_close(got: object, want: torch.Tensor, what: str, call: str, hint: Callable[[], str]) -> None:
    """``expect_tensor`` with the hint worked out only when the values differ: a hint asks the
    stand-ins what they saw or tries known mistakes, work that a passing example does not need
    (and the first ``mask_story`` imports sympy through ``torch.broadcast_shapes``)."""
    try:
        expect_tensor(got, want, what, call)
        return
    except CheckFailed:
        pass
    expect_tensor(got, want, what, call, hint=hint())


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
        call = f"{head.name}(x, {_mask_text(batch)})"
        out, alpha = _pair(head(batch.x, batch.mask), call, "out", "alpha")
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
        call = f"{head.name}(x, mask)"
        _, alpha = _pair(head(batch.x, batch.mask), call, "out", "alpha")
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


def _scale_hint(reference: torch.nn.Module, batch: SequenceBatch, n_hidden: int, alpha: torch.Tensor) -> str:
    """The hint for a wrong alpha: the known wrong scale it matches, else the right formula."""
    dim = batch.shape[2]
    with torch.no_grad():
        q, k = reference.W_Q(batch.x), reference.W_K(batch.x)
        raw = q @ k.transpose(-2, -1)  # (B, T, T)
        if batch.mask is not None:
            raw = raw.masked_fill(batch.mask == 0, float("-inf"))
    wrong = [  # "not scaled" first: with dim = 1 or n_hidden = 1 the other divisors are 1 too
        (1.0, f"your scores are not scaled; divide Q K^T by sqrt(n_hidden) = sqrt({n_hidden}) = {math.sqrt(n_hidden):.4g}"),
        (math.sqrt(dim), f"your scores are divided by sqrt(dim) = sqrt({dim}); divide by sqrt(n_hidden) = sqrt({n_hidden}), the width of Q and K"),
        (float(n_hidden), f"your scores are divided by n_hidden = {n_hidden}; divide by its square root, sqrt(n_hidden) = {math.sqrt(n_hidden):.4g}"),
    ]
    if tuple(alpha.shape) == tuple(raw.shape):
        for divisor, hint in wrong:
            if divisor != math.sqrt(n_hidden) and torch.allclose(alpha, torch.softmax(raw / divisor, dim=-1), atol=1e-5, rtol=1e-4):
                return hint
    return (
        f"alpha = softmax(Q K^T / sqrt(n_hidden)) over the last axis, with sqrt(n_hidden) = sqrt({n_hidden}) = "
        f"{math.sqrt(n_hidden):.4g}, and masked scores removed before the softmax"
    )


def _bias_hint(mapping: params.ParamMap, head: str) -> str:
    if any(key.endswith(".bias") or key == "bias" for key in mapping.missing):
        return (
            f"{head} has no bias in its W_Q, W_K and W_V: each must be nn.Linear(dim, n_hidden) with its bias "
            "(bias=True, the default), so that Q = x W_Q^T + b_Q, and likewise for K and V"
        )
    if mapping.missing:
        return f"{head} has no parameter of the shape of {', '.join(mapping.missing[:3])}: W_Q, W_K, W_V = nn.Linear(dim, n_hidden)"
    return ""


@checks.add("attention_head", "with the reference's weights, out and alpha equal softmax(QK^T/sqrt(n_hidden)) and alpha V", weight=2)
def head_differential(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden = case
        _, _, dim = batch.shape
        torch.manual_seed(batch.seed)
        reference = ctx.ref.AttentionHead(dim, n_hidden)
        head = ctx.student.new("AttentionHead", dim, n_hidden)
        mapping = params.load_like(head, reference, batch.seed)
        with torch.no_grad():
            want_out, want_alpha = reference(batch.x, batch.mask)
        call = f"{head.name}(x, {_mask_text(batch)})"
        out, alpha = _pair(head(batch.x, batch.mask), call, "out", "alpha")
        missing = _bias_hint(mapping, head.name)
        assumed = mapping.note(head.name)
        expect_type(alpha, [torch.Tensor], "alpha", call)
        _expect_close(alpha, want_alpha, "alpha", call, lambda: _hints(missing or _scale_hint(reference, batch, n_hidden, alpha.to(torch.float32)), assumed))
        _expect_close(out, want_out, "out", call, lambda: _hints(missing or "out = alpha V, with V = W_V(x)", assumed))

    ctx.forall(head_cases(), body)


@checks.add("attention_head", "queries and keys of zero give uniform attention over the allowed positions")
def head_known_answer(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden = case
        b, t, dim = batch.shape
        head = ctx.student.new("AttentionHead", dim, n_hidden)
        reference = ctx.ref.AttentionHead(dim, n_hidden)
        values = {k: torch.zeros_like(v) for k, v in reference.state_dict().items()}
        values["W_V.weight"] = randn(batch.seed, n_hidden, dim)
        values["W_V.bias"] = randn(batch.seed + 1, n_hidden)
        theirs = head.state_dict()
        expect_type(theirs, [dict], f"{head.name}.state_dict()", f"{head.name}.state_dict()")
        mapping = params.match(theirs, [(k, tuple(v.shape)) for k, v in values.items()])
        for name in ("W_V.weight", "W_V.bias"):
            if name not in mapping.keys:
                fail(
                    f"{head.name}.state_dict() has no parameter for {name} (shape {tuple(values[name].shape)}), but should: "
                    f"W_V = nn.Linear(dim, n_hidden) with a bias [{head.name}.state_dict()]\n  hint: {_bias_hint(mapping, head.name)}"
                )
        params.load(head, theirs, mapping, values)
        mask = batch.mask.expand(b, t, t).to(torch.float32)
        want_alpha = mask / mask.sum(-1, keepdim=True)
        want_out = want_alpha @ (batch.x @ values["W_V.weight"].T + values["W_V.bias"])
        call = f"{head.name}(x, mask) with W_Q and W_K all zero"
        out, alpha = _pair(head(batch.x, batch.mask), call, "out", "alpha")
        assumed = mapping.note(head.name)
        expect_tensor(alpha, want_alpha, "alpha", call, hint=_hints("equal scores must give equal weights over the allowed positions", assumed))
        expect_tensor(out, want_out, "out", call, hint=_hints(_bias_hint(mapping, head.name), assumed))

    ctx.forall(head_cases(need_mask=True), body)


# -------------------------------------------------------------------------------------------
# -------------------------------------------------------------------------------------------
# MultiHeadedAttention


@st.composite
def multi_cases(draw: st.DrawFn):
    return draw(sequence_batches()), draw(st.integers(1, 4)), draw(st.integers(1, 3))


def _new_multi(ctx: Context, batch: SequenceBatch, n_hidden: int, heads: int) -> standins.Built:
    """The student's MultiHeadedAttention with the reference's weights; each head's forward is the
    reference head's, with that head's weights, computed in the grader."""
    dim = batch.shape[2]
    mha = ctx.student.new("MultiHeadedAttention", dim, n_hidden, heads)
    torch.manual_seed(batch.seed)
    reference = ctx.ref.MultiHeadedAttention(dim, n_hidden, heads)
    return standins.build(ctx.student, mha, reference, "AttentionHead", 2, heads, batch.seed, batch.shape, lambda r, i: r.heads[i], True)


def _compare_multi(built: standins.Built, batch: SequenceBatch, heads: int) -> None:
    mha = built.module
    with torch.no_grad():
        want_out, want_alphas = built.reference(batch.x, batch.mask)
    built.reset()
    call = f"{mha.name}(x, {_mask_text(batch)})"
    out, alphas = _pair(mha(batch.x, batch.mask), call, "out", "alphas")
    expect_type(out, [torch.Tensor], "out", call)
    expect_type(alphas, [torch.Tensor], "alphas", call)
    _expect_close(out, want_out, "out", call, lambda: built.hint(batch.mask, "concatenate the heads' outputs on the last axis, in head order, then apply W_O"))
    _expect_close(alphas, want_alphas, "alphas", call, lambda: built.hint(batch.mask, "alphas[:, h] is head h's alpha: stack them on axis 1"))


@checks.add("multi_headed_attention", "out has shape (B, T, dim) and alphas (B, num_heads, T, T)")
def multi_shapes(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden, heads = case
        b, t, dim = batch.shape
        built = _new_multi(ctx, batch, n_hidden, heads)
        mha = built.module
        call = f"{mha.name}(x, {_mask_text(batch)})"
        out, alphas = _pair(mha(batch.x, batch.mask), call, "out", "alphas")
        expect_type(out, [torch.Tensor], "out", call)
        expect_type(alphas, [torch.Tensor], "alphas", call)
        expect(tuple(out.shape) == (b, t, dim), f"out.shape={tuple(out.shape)}, but should be {(b, t, dim)} [{call}]")
        expect(
            tuple(alphas.shape) == (b, heads, t, t),
            f"alphas.shape={tuple(alphas.shape)}, but should be {(b, heads, t, t)} [{call}]",
            "stack the heads' alphas on axis 1",
        )

    ctx.forall(multi_cases(), body)


@checks.add("multi_headed_attention", "every head is a distinct AttentionHead with its own weights")
def multi_distinct(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden, heads = case
        _compare_multi(_new_multi(ctx, batch, n_hidden, max(heads, 2)), batch, max(heads, 2))

    ctx.forall(multi_cases(), body, max_examples=3)


@checks.add("multi_headed_attention", "out is W_O applied to the heads' outputs concatenated in head order", weight=2)
def multi_composition(ctx: Context) -> None:
    def body(case) -> None:
        batch, n_hidden, heads = case
        _compare_multi(_new_multi(ctx, batch, n_hidden, heads), batch, heads)

    ctx.forall(multi_cases(), body)


# -------------------------------------------------------------------------------------------
# Transformer


@st.composite
def transformer_cases(draw: st.DrawFn):
    batch = draw(sequence_batches(max_len=5, max_dim=5))
    return batch, draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 3))


def _new_transformer(ctx: Context, case, layers: int = 0) -> standins.Built:
    """The student's Transformer with the reference's weights; each layer's MultiHeadedAttention
    runs the reference's forward, with that layer's weights, in the grader."""
    batch, attn_dim, mlp_dim, heads, drawn = case
    layers = layers or drawn
    dim = batch.shape[2]
    model = ctx.student.new("Transformer", dim, attn_dim, mlp_dim, heads, layers)
    torch.manual_seed(batch.seed)
    reference = ctx.ref.Transformer(dim, attn_dim, mlp_dim, heads, layers)
    return standins.build(ctx.student, model, reference, "MultiHeadedAttention", 3, layers, batch.seed, batch.shape, lambda r, i: r.layers[i].attn, False)


def _compare_transformer(built: standins.Built, batch: SequenceBatch) -> None:
    model = built.module
    with torch.no_grad():
        want_out, want_attn = built.reference(batch.x, batch.mask, True)
    built.reset()
    call = f"{model.name}(x, {_mask_text(batch)}, True)"
    out, attn = _pair(model(batch.x, batch.mask, True), call, "out", "attn")
    _expect_close(out, want_out, "out", call, lambda: built.hint(batch.mask, "pass x through every layer in order, each with the same attn_mask"))
    _expect_close(attn, want_attn, "attn", call, lambda: built.hint(batch.mask, "attn[:, l] is layer l's alphas: stack them on axis 1"))


@checks.add("transformer", "out has shape (B, T, dim); attention (B, num_layers, ...) only if return_attn")
def transformer_shapes(ctx: Context) -> None:
    def body(case) -> None:
        batch, _, _, heads, layers = case
        b, t, dim = batch.shape
        model = _new_transformer(ctx, case).module
        call = f"{model.name}(x, {_mask_text(batch)}, True)"
        out, attn = _pair(model(batch.x, batch.mask, True), call, "out", "attn")
        expect_type(out, [torch.Tensor], "out", call)
        expect(tuple(out.shape) == (b, t, dim), f"out.shape={tuple(out.shape)}, but should be {(b, t, dim)} [{call}]")
        expect_type(attn, [torch.Tensor], "attn", call)
        want = (b, layers, heads, t, t)
        expect(tuple(attn.shape) == want, f"attn.shape={tuple(attn.shape)}, but should be {want} [{call}]", "stack the layers' alphas on axis 1")
        call = f"{model.name}(x, {_mask_text(batch)}, False)"
        _, none = _pair(model(batch.x, batch.mask, False), call, "out", "attn")
        expect(none is None, f"attn={type(none).__name__}, but should be None when return_attn is False [{call}]")

    ctx.forall(transformer_cases(), body)


@checks.add("transformer", "every layer is a distinct AttentionResidual with its own weights")
def transformer_distinct(ctx: Context) -> None:
    def body(case) -> None:
        _compare_transformer(_new_transformer(ctx, case, layers=2), case[0])

    ctx.forall(transformer_cases(), body, max_examples=3)


@checks.add("transformer", "out and attention equal the layers applied in order, each given the mask", weight=2)
def transformer_composition(ctx: Context) -> None:
    def body(case) -> None:
        _compare_transformer(_new_transformer(ctx, case), case[0])

    ctx.forall(transformer_cases(), body, max_examples=6)  # a mask not passed on shows from the 5th
