"""Hidden tests for Part 3: PatchEmbed.

PatchEmbed is graded on its behaviour, whatever its parametrisation (a strided Conv2d named
``proj`` as suggested, or ``unfold`` + ``nn.Linear`` under any name): the affine map a
submission applies to one patch is measured by probing it with basis images, and every patch
of a random image must then come out of that same map, in row-major order. Only the
differential check needs the suggested ``proj`` Conv2d, and it is passed without running when
the submission's parameters are named otherwise. The last check runs the given
VisionTransformer around the submission's PatchEmbed; the submission's Transformer (Part 2)
inside it is built but its forward is a stand-in computed in the grader
(``autograder.checking.standins``), so a Transformer bug costs Part 2's points only.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from autograder.checking import params, standins
from autograder.checking.compare import CheckFailed, expect, expect_tensor, expect_type, fail
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, named, randn, source_of

checks = Checks()


@dataclass(frozen=True)
class PatchCase:
    batch: int
    img_size: int
    patch_size: int
    nin: int
    nout: int
    seed: int

    @property
    def n(self) -> int:
        return self.img_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.n**2

    def image(self, seed_offset: int = 0, batch: Optional[int] = None) -> torch.Tensor:
        b = self.batch if batch is None else batch
        return randn(self.seed + seed_offset, b, self.nin, self.img_size, self.img_size)


@st.composite
def patch_cases(draw: st.DrawFn) -> PatchCase:
    patch_size = draw(st.integers(1, 4))
    n = draw(st.integers(1, 4))
    return PatchCase(
        batch=draw(st.integers(1, 2)),
        img_size=patch_size * n,
        patch_size=patch_size,
        nin=draw(st.integers(1, 3)),
        nout=draw(st.integers(1, 6)),
        seed=draw(st.integers(0, MAX_SEED)),
    )


def _expect_close(got: object, want: torch.Tensor, what: str, call: str, hint: Callable[[], str]) -> None:
    """``expect_tensor(..., atol=1e-4)`` with the hint (which tries known mistakes) worked out
    only when the values differ."""
    try:
        expect_tensor(got, want, what, call, atol=1e-4)
        return
    except CheckFailed:
        pass
    expect_tensor(got, want, what, call, atol=1e-4, hint=hint())


def _values(t: torch.Tensor) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in t.reshape(-1)) + "]"


def _new(ctx: Context, case: PatchCase):
    return ctx.student.new("PatchEmbed", case.img_size, case.patch_size, case.nin, case.nout)


def _randomise(module, seed: int) -> None:
    """Distinct seeded values in every floating parameter, whatever the parametrisation."""
    state = module.state_dict()
    expect_type(state, [dict], f"{module.name}.state_dict()", f"{module.name}.state_dict()")
    fresh, seeds = {}, {}
    for i, (key, value) in enumerate(state.items()):
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            fresh[key] = randn(seed + i, *value.shape, scale=0.5)
            seeds[key] = seed + i
        else:
            fresh[key] = value
    module.load_state_dict(fresh, shown=params.seeded_text(module.name, state, seeds, 0.5))


def _embed(module, x: torch.Tensor, case: PatchCase, call: str) -> torch.Tensor:
    """module(x), checked to be a tensor of shape (B, num_patches, nout)."""
    out = module(x)
    expect_type(out, [torch.Tensor], "out", call)
    want = (int(x.shape[0]), case.num_patches, case.nout)
    expect(
        tuple(out.shape) == want,
        f"out.shape={tuple(out.shape)}, but should be {want} [{call}]",
        f"(B, num_patches, nout) with num_patches = (img_size // patch_size)**2 = {case.num_patches}",
    )
    return out.detach().to(torch.float64)


def _patches(x: torch.Tensor, case: PatchCase) -> torch.Tensor:
    """(B, num_patches, nin*p*p): patch k at row k // n, column k % n, pixels ordered (channel, dy, dx)."""
    b, c, p, n = x.shape[0], case.nin, case.patch_size, case.n
    blocks = x.reshape(b, c, n, p, n, p).permute(0, 2, 4, 1, 3, 5)  # (B, row, col, C, dy, dx)
    return blocks.reshape(b, n * n, c * p * p)


def _diagnose(got: torch.Tensor, want: torch.Tensor, case: PatchCase) -> str:
    """A hint naming the known mistake that ``got`` matches, if any."""
    b, n, nout = want.shape[0], case.n, case.nout
    grid = want.transpose(1, 2).reshape(b, nout, n, n)  # what a Conv2d would have produced
    column_major = grid.transpose(2, 3).reshape(b, nout, n * n).transpose(1, 2)
    scrambled = grid.reshape(b, n * n, nout)
    if tuple(got.shape) == tuple(want.shape):
        if torch.allclose(got.to(torch.float64), column_major.to(torch.float64), atol=1e-4, rtol=1e-4):
            return (
                "your patches come out in column-major order (patch k at column k // n, row k % n): "
                "list them row by row, patch k at row k // n and column k % n"
            )
        if torch.allclose(got.to(torch.float64), scrambled.to(torch.float64), atol=1e-4, rtol=1e-4):
            return (
                "the (B, nout, n, n) grid was reshaped straight to (B, n*n, nout), which mixes channels "
                "and patches: flatten the grid to (B, nout, n*n), then move the channel axis last (transpose(1, 2))"
            )
    return (
        f"patch k is the non-overlapping {case.patch_size}x{case.patch_size} block at row k // n, column k % n "
        f"(n = {n}), and every patch goes through the same affine map; with a Conv2d use "
        "stride=patch_size and move the channel axis last before flattening"
    )


def _affine_prediction(measured: torch.Tensor, x: torch.Tensor, case: PatchCase) -> torch.Tensor:
    """What a shared affine map predicts for ``x``, given its outputs on the probes (see below):
    probes[0] is a zero image (row 0 of its output is the bias b) and probes[m + 1] has a single 1
    at pixel m of the top-left patch (row 0 of its output minus b is column m of W)."""
    bias = measured[0, 0]  # (nout,)
    weight = (measured[1:, 0] - bias).T  # (nout, nin*p*p)
    return _patches(x.to(torch.float64), case) @ weight.T + bias  # (B, num_patches, nout)


def _diagnose_affine(measured: torch.Tensor, got: torch.Tensor, x: torch.Tensor, case: PatchCase) -> str:
    """The known mistake that explains ``got``: undoing it makes the outputs a shared affine map."""
    n, nout = case.n, case.nout
    undo = [
        (
            lambda t: t.reshape(t.shape[0], nout, n * n).transpose(1, 2),
            "the (B, nout, n, n) grid was reshaped straight to (B, n*n, nout), which mixes channels and patches: "
            "flatten the grid to (B, nout, n*n), then move the channel axis last (transpose(1, 2))",
        ),
        (
            lambda t: t.reshape(t.shape[0], n, n, nout).transpose(1, 2).reshape(t.shape[0], n * n, nout),
            "your patches come out in column-major order (patch k at column k // n, row k % n): "
            "list them row by row, patch k at row k // n and column k % n",
        ),
    ]
    for fix, hint in undo:
        fixed = fix(got)
        if torch.allclose(fixed, _affine_prediction(fix(measured), x, case), atol=1e-4, rtol=1e-4):
            return hint
    return _diagnose(got, _affine_prediction(measured, x, case), case)


@checks.add("patch_embed", "out has shape (B, num_patches, nout)")
def patch_shapes(ctx: Context) -> None:
    def body(case: PatchCase) -> None:
        module = _new(ctx, case)
        _embed(module, case.image(), case, f"{module.name}(x)")

    ctx.forall(patch_cases(), body, max_examples=3)


@st.composite
def pixel_cases(draw: st.DrawFn):
    case = draw(patch_cases())
    return (
        case,
        draw(st.integers(0, case.batch - 1)),
        draw(st.integers(0, case.nin - 1)),
        draw(st.integers(0, case.img_size - 1)),
        draw(st.integers(0, case.img_size - 1)),
    )


@checks.add("patch_embed", "changing one pixel changes only its own patch's embedding, in row-major patch order", weight=2)
def patch_locality(ctx: Context) -> None:
    def body(example) -> None:
        case, b, ch, r, c = example
        module = _new(ctx, case)
        _randomise(module, case.seed)
        x = case.image()
        index = tuple(torch.tensor([i]) for i in (b, ch, r, c))
        moved = named(  # x with 4 added at [b, ch, r, c], as code a reproducer can show
            x.index_put(index, torch.tensor(4.0), accumulate=True),
            f"{source_of(x)}.index_put((torch.tensor([{b}]), torch.tensor([{ch}]), torch.tensor([{r}]), torch.tensor([{c}])), "
            "torch.tensor(4.0), accumulate=True)",
        )
        before = _embed(module, x, case, f"{module.name}(x)")
        call = f"{module.name}(x2) where x2 is x with x2[{b}, {ch}, {r}, {c}] increased by 4"
        after = _embed(module, moved, case, call)
        k = (r // case.patch_size) * case.n + (c // case.patch_size)
        changed = (after - before).abs().amax(dim=-1) > 1e-4  # (B, num_patches)
        where = f"pixel (row {r}, column {c}) lies in patch {k} = (row {r} // {case.patch_size}) * {case.n} + (column {c} // {case.patch_size})"
        others = changed.clone()
        others[b, k] = False
        if others.any():
            bb, kk = (int(i) for i in others.nonzero()[0])
            fail(
                f"out[{bb}, {kk}] changed, but should not: {where}, so only out[{b}, {k}] may change [{call}]\n"
                f"  out[{bb}, {kk}] before: {_values(before[bb, kk])}\n"
                f"  out[{bb}, {kk}] after:  {_values(after[bb, kk])}\n"
                "  hint: patches must not overlap (stride = patch_size), and patch k is the block at row k // n, "
                "column k % n (row-major); keep the channel axis apart from the patch axis"
            )
        if not changed[b, k]:
            fail(
                f"out[{b}, {k}] did not change, but should: {where}, and every pixel of a patch enters its embedding [{call}]"
            )

    ctx.forall(pixel_cases(), body)


@checks.add("patch_embed", "every patch, in row-major order, goes through one shared affine map of its pixels", weight=2)
def patch_shared_affine(ctx: Context) -> None:
    def body(case: PatchCase) -> None:
        module = _new(ctx, case)
        _randomise(module, case.seed)
        p, size = case.patch_size, case.nin * case.patch_size**2
        # The map of the top-left patch, measured: a zero image gives the bias, and one image per
        # pixel of that patch (a 1 there, 0 elsewhere) gives one column of the weight matrix.
        # Probe m + 1 is row m of the identity, laid out as one patch (channel, dy, dx), padded to an image.
        pad = case.img_size - p
        probes = named(
            torch.cat([torch.zeros(1, case.nin, case.img_size, case.img_size), F.pad(torch.eye(size).reshape(size, case.nin, p, p), (0, pad, 0, pad))]),
            f"torch.cat([torch.zeros(1, {case.nin}, {case.img_size}, {case.img_size}), "
            f"torch.nn.functional.pad(torch.eye({size}).reshape({size}, {case.nin}, {p}, {p}), (0, {pad}, 0, {pad}))])",
        )
        measured = _embed(module, probes, case, f"{module.name}(probes)")
        x = case.image(seed_offset=1)
        call = f"{module.name}(x)"
        got = _embed(module, x, case, call)
        want = _affine_prediction(measured, x, case)
        _expect_close(
            got,
            want,
            "out",
            call + f" compared with W @ patch_k + b, where W and b are your map as measured by {module.name}(probes) on the top-left patch",
            lambda: _diagnose_affine(measured, got, x, case),
        )

    ctx.forall(patch_cases(), body)


@checks.add("patch_embed", "with the reference's Conv2d weights in proj, out equals the reference's (only if proj is that Conv2d)")
def patch_differential(ctx: Context) -> None:
    def body(case: PatchCase) -> None:
        module = _new(ctx, case)
        reference = ctx.ref.PatchEmbed(case.img_size, case.patch_size, case.nin, case.nout)
        theirs = module.state_dict()
        expect_type(theirs, [dict], f"{module.name}.state_dict()", f"{module.name}.state_dict()")
        ours = reference.state_dict()
        same = set(theirs) == set(ours) and all(
            isinstance(theirs[k], torch.Tensor) and tuple(theirs[k].shape) == tuple(v.shape) for k, v in ours.items()
        )
        if not same:
            return  # another parametrisation (unfold + Linear, ...): graded on behaviour alone
        state = {k: randn(case.seed + i, *v.shape, scale=0.5) for i, (k, v) in enumerate(ours.items())}
        reference.load_state_dict(state)
        module.load_state_dict(state, shown=params.seeded_text(module.name, theirs, {k: case.seed + i for i, k in enumerate(ours)}, 0.5))
        x = case.image()
        with torch.no_grad():
            want = reference(x)
        call = f"{module.name}(x) after {module.name}.load_state_dict(state)"
        got = module(x)
        expect_type(got, [torch.Tensor], "out", call)
        _expect_close(got, want, "out", call, lambda: _diagnose(got, want, case))

    ctx.forall(patch_cases(), body, max_examples=6)


@st.composite
def vit_cases(draw: st.DrawFn):
    case = draw(patch_cases())
    # (classes, dim, attn_dim, mlp_dim, num_heads, num_layers) of the given VisionTransformer
    return case, (draw(st.integers(1, 3)), draw(st.integers(2, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 3)), 1, 1)


class _Passthrough(torch.nn.Module):
    """What the VisionTransformer's Transformer computes in the ``patch_in_vit`` check: nothing.
    The check asks only that the given VisionTransformer runs around the student's PatchEmbed."""

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, return_attn: bool = False) -> tuple:
        return x.clone(), None


@checks.add("patch_embed", "the given VisionTransformer runs with your PatchEmbed (built with keyword arguments) and gives (B, nout) logits")
def patch_in_vit(ctx: Context) -> None:
    def body(example) -> None:
        case, sizes = example
        classes, dim, attn_dim, mlp_dim, heads, layers = sizes
        embed = ctx.student.new("PatchEmbed", img_size=case.img_size, patch_size=case.patch_size, nin=case.nin, nout=dim)
        _embed(embed, case.image(), dataclass_replace(case, nout=dim), f"{embed.name}(x)")
        args = (case.nin, classes, case.img_size, case.patch_size, dim, attn_dim, mlp_dim, heads, layers)
        model = ctx.student.new("VisionTransformer", *args)
        # The Transformer inside is Part 2's: its forward is a stand-in computed here.
        found = standins.find(ctx.student, model, "Transformer", 1)
        expect(len(found) == 1, f"{model.name} holds {len(found)} Transformer modules, but should hold 1 (the given code's self.transformer) [{model.name}]")
        shape = (case.batch, 1 + case.num_patches, dim)
        standins.install(ctx.student, found, [standins.StandIn(_Passthrough(), f"{model.name}.transformer", shape, True)], "Transformer")
        call = f"{model.name}(img)"
        result = model(case.image())
        want = (case.batch, classes)
        expect_type(result, [tuple, list], "the result", call)
        expect(len(result) == 2, f"len(result)={len(result)}, but should be 2 (logits, alphas) [{call}]")
        expect_type(result[0], [torch.Tensor], "logits", call)
        expect(tuple(result[0].shape) == want, f"logits.shape={tuple(result[0].shape)}, but should be {want} [{call}]")

    ctx.forall(vit_cases(), body, max_examples=2)


__all__: List[str] = ["checks"]
