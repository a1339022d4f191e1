"""Grader-side stand-ins for a submission's building blocks inside a composite.

A composite (a Transformer of MultiHeadedAttention blocks, a DialogueGPT around a Transformer)
is graded with its building blocks' faults factored out: after the student's composite is built,
the ``forward`` of every building block in it is replaced by a function of the grader's
(``Student.function``) that computes the reference block, here, with the very weights loaded
into the student's block. The student's block keeps its parameters (a vectorised multi-head
module that reads its heads' weights still works) but none of its code runs, so a block that
crashes, never returns or ignores its mask costs points on its own problem only; and what the
stand-in is asked (which block, which mask) is recorded here, out of the submission's reach.
No reference code enters the sandbox: only the stand-ins' answers, plain tensors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from autograder.checking import params
from autograder.checking.compare import expect
from autograder.checking.student import Remote, Student
from autograder.sandbox import wire

MAX_CALLS = 64  # calls of one stand-in in one example; more is a runaway loop
MASK_NAMES = ("attn_mask", "mask", "attention_mask")
FLAG_NAMES = ("return_attn", "return_attention", "return_alphas")
CONTAINERS = ("torch.nn.modules.container.ModuleList", "torch.nn.modules.container.Sequential", "torch.nn.modules.container.ModuleDict")


def _is_leaf(type_name: str) -> bool:
    """A torch.nn module other than a container: nothing of the submission's below it."""
    return type_name.startswith("torch.nn.") and type_name not in CONTAINERS


def find(student: Student, root: Remote, class_name: str, depth: int) -> List[Tuple[str, Remote]]:
    """The submodules of ``root`` whose class is called ``class_name``, as (dotted path, proxy) in
    registration order, searching ``depth`` levels down (one round trip per module opened)."""
    found: List[Tuple[str, Remote]] = []
    level: List[Tuple[str, Remote]] = [("", root)]
    for _ in range(depth):
        below: List[Tuple[str, Remote]] = []
        for path, module in level:
            children = module.attr("_modules").get()
            if type(children) is not dict:
                continue
            for key, handle in children.items():
                if type(handle) is not wire.Handle:
                    continue
                child_path = f"{path}.{key}" if path else str(key)
                child = Remote(student, handle, f"{root.name}.{child_path}")
                if handle.type_name.split(".")[-1] == class_name:
                    found.append((child_path, child))
                elif not _is_leaf(handle.type_name):
                    below.append((child_path, child))
        level = below
    return found


@dataclass
class StandIn:
    """One building block's forward, computed in the grader by ``module`` (a reference block).

    It accepts the calls students write (``block(x, mask)``, ``block(x=x, attn_mask=mask)``,
    ``block(x, mask=mask)``, ``block(x, mask, True)``), checks what arrives against the shapes of
    the example, and records the mask of every call.
    """

    module: torch.nn.Module
    label: str  # how messages name the block, e.g. "layers[1].attn"
    shape: Tuple[int, int, int]  # (B, T, dim) of the inputs this example gives it
    takes_flag: bool = False  # forward(x, attn_mask, return_attn), as Transformer's
    masks: List[Optional[torch.Tensor]] = field(default_factory=list)

    def _arguments(self, args: tuple, kwargs: Dict[str, Any]) -> Tuple[Any, Any, bool]:
        rest = dict(kwargs)
        positional = list(args)
        mask_key = next((k for k in MASK_NAMES if k in rest), None)
        flag_key = next((k for k in FLAG_NAMES if k in rest), None)
        mask = rest.pop(mask_key) if mask_key else None
        flag = rest.pop(flag_key) if flag_key else False
        if positional:
            x = positional.pop(0)
        elif len(rest) == 1:
            x = rest.popitem()[1]
        else:
            raise TypeError(f"{self.label}() takes x and an attention mask, but was called with {sorted(kwargs)}")
        if positional and mask_key is None:
            mask = positional.pop(0)
        if positional and self.takes_flag and flag_key is None:
            flag = positional.pop(0)
        if positional or rest:
            raise TypeError(f"{self.label}() got {len(args)} positional arguments and {sorted(kwargs)}, but takes (x, attn_mask{', return_attn' if self.takes_flag else ''})")
        return x, mask, bool(flag) if type(flag) in (bool, int) else False

    def _check(self, x: Any, mask: Any) -> None:
        b, t, d = self.shape
        if type(x) is not torch.Tensor or not x.is_floating_point() or tuple(x.shape) != (b, t, d):
            got = tuple(x.shape) if type(x) is torch.Tensor else type(x).__name__
            raise ValueError(f"{self.label}(x, ...) was given x of {got}, but should be a float tensor of shape {(b, t, d)}")
        if mask is None:
            return
        ok = type(mask) is torch.Tensor and mask.dim() in (2, 3) and tuple(mask.shape[-2:]) == (t, t)
        if ok and mask.dim() == 3:
            ok = int(mask.shape[0]) in (1, b)
        if not ok:
            got = tuple(mask.shape) if type(mask) is torch.Tensor else type(mask).__name__
            raise ValueError(f"{self.label}(x, attn_mask) was given attn_mask of {got}, but should be None, {(t, t)} or {(b, t, t)}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(self.masks) >= MAX_CALLS:
            raise ValueError(f"{self.label} was called more than {MAX_CALLS} times in one forward pass")
        x, mask, flag = self._arguments(args, kwargs)
        self._check(x, mask)
        self.masks.append(None if mask is None else mask.clone())
        try:
            with torch.no_grad():
                if self.takes_flag:
                    return tuple(self.module(x.to(torch.float32), mask, flag))
                return tuple(self.module(x.to(torch.float32), mask))
        except RuntimeError as exc:  # a mask of a dtype the reference cannot compare, say
            raise ValueError(f"{self.label}(x, attn_mask) cannot be computed: {str(exc)[:300]}") from None


def install(student: Student, found: List[Tuple[str, Remote]], stand_ins: List[StandIn], what: str) -> None:
    """Replace the forward of each found block by its stand-in (one round trip each).

    The calls that do it are grader's business, not the student's: they leave the reproducer,
    which says in one comment line what was replaced."""
    mark = len(student.log)
    for (_, block), stand_in in zip(found, stand_ins):
        block.attr("__setattr__")("forward", student.function(stand_in.label, stand_in))
    del student.log[mark:]
    paths = ", ".join(path for path, _ in found[:4]) + (", ..." if len(found) > 4 else "")
    student.log.append(f"# the grader ran the reference {what} in place of your {paths} (same weights)")


def mask_story(stand_ins: List[StandIn], mask: Optional[torch.Tensor]) -> str:
    """What the stand-ins saw, when it explains a wrong output ("" when they saw what they should)."""
    never = [s for s in stand_ins if not s.masks]
    if never:
        many = next((s for s in stand_ins if len(s.masks) > 1), None)
        extra = f" while {many.label} was called {len(many.masks)} times" if many else ""
        return (
            f"{never[0].label} was never called{extra}: each must be its own module (build them with a list "
            "comprehension, not [Module(...)] * n), and each must be applied once"
        )
    for stand_in in stand_ins:
        for given in stand_in.masks:
            if mask is not None and given is None:
                return f"{stand_in.label} was called without the attention mask: pass attn_mask on to it"
            if mask is None and given is not None:
                return f"{stand_in.label} was given an attention mask although none was passed in"
            if mask is not None and given is not None:
                shape = torch.broadcast_shapes(given.shape, mask.shape)
                if not torch.equal((given != 0).expand(shape), (mask != 0).expand(shape)):
                    return f"{stand_in.label} was given another attention mask than the one passed in: pass attn_mask on unchanged"
    return ""


def _shown(name: str, path: str) -> str:
    """``mha1`` and ``heads.0`` -> ``mha1.heads[0]``."""
    text = name
    for part in path.split("."):
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


class Built:
    """A student's composite with known weights loaded and its blocks replaced by stand-ins."""

    def __init__(self, module: Remote, reference: torch.nn.Module, stand_ins: List[StandIn], mapping: params.ParamMap):
        self.module = module
        self.reference = reference
        self.stand_ins = stand_ins
        self.mapping = mapping

    def hint(self, mask: Optional[torch.Tensor], usual: str) -> str:
        return _joined(mask_story(self.stand_ins, mask) or usual, self.mapping.note(self.module.name))

    def reset(self) -> None:
        for stand_in in self.stand_ins:
            stand_in.masks.clear()


def build(
    student: Student,
    module: Remote,
    reference: torch.nn.Module,
    block: str,
    depth: int,
    count: int,
    seed: int,
    shape: Tuple[int, int, int],
    where: Callable[[torch.nn.Module, int], torch.nn.Module],
    load_blocks: bool,
    flag: bool = False,
    scale: float = 0.5,
) -> Built:
    """Find ``count`` blocks of class ``block`` in ``module``; load the reference's seeded weights into
    ``module`` by shape and role (into the blocks too if ``load_blocks``: a vectorised multi-head
    module reads its heads' weights); give block ``i`` the forward of ``where(reference, i)``
    (``flag``: it takes ``return_attn`` too, as a Transformer does)."""
    found = find(student, module, block, depth)
    expect(
        len(found) == count,
        f"{module.name} holds {len(found)} {block} modules, but should hold {count} "
        f"(as attributes, or in an nn.ModuleList) [{module.name}]",
        f"keep them in an nn.ModuleList built with a list comprehension, one {block} per item",
    )
    skip = [] if load_blocks else sorted({_block_prefix(reference, where(reference, i)) for i in range(count)})
    exclude = [] if load_blocks else [path for path, _ in found]
    mapping = params.load_like(module, reference, seed, scale=scale, exclude=exclude, skip=skip)
    stand_ins = [StandIn(where(reference, i), _shown(module.name, found[i][0]), shape, flag) for i in range(count)]
    install(student, found, stand_ins, block)
    return Built(module, reference, stand_ins, mapping)


def _block_prefix(reference: torch.nn.Module, block: torch.nn.Module) -> str:
    return next(name for name, sub in reference.named_modules() if sub is block)


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


__all__ = ["Built", "StandIn", "build", "find", "install", "mask_story"]
