"""The submission's parameters found by shape and role, not by state-dict key.

A check that loads known weights into a student's module says which of the reference's
parameters it wants (``W_O.weight`` of shape ``(dim, num_heads * n_hidden)``, ...). The student
may call them anything (``linear.weight``, ``attention_heads.0.query.bias``): a parameter of the
same key and shape is taken first, and every other wanted parameter is matched, in registration
order, to the first unclaimed parameter of the same shape. When several parameters share a
shape, that order is an assumption, and ``ParamMap.note`` says so in the message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from autograder.checking.compare import expect_type
from autograder.checking.strategies import randn
from autograder.checking.student import describe_value

Shape = Tuple[int, ...]


@dataclass
class ParamMap:
    """Which of the submission's state-dict keys plays each wanted (reference) parameter's role."""

    keys: Dict[str, str] = field(default_factory=dict)  # wanted key -> the submission's key
    missing: List[str] = field(default_factory=list)  # wanted keys with no parameter of their shape left
    assumed: List[Tuple[str, str]] = field(default_factory=list)  # (wanted, theirs) matched by order among equals

    def note(self, owner: str) -> str:
        """What was assumed, for a hint ("" when the mapping was unambiguous)."""
        if not self.assumed:
            return ""
        shown = ", ".join(f"{owner}.{theirs} as {wanted}" for wanted, theirs in self.assumed[:4])
        more = f" and {len(self.assumed) - 4} more" if len(self.assumed) > 4 else ""
        return (
            f"parameters of equal shape were matched in the order your module registers them: {shown}{more}; "
            "register them in the handout's order if that is not what you meant"
        )


def _floating(state: Dict[str, Any], exclude: Sequence[str]) -> List[Tuple[str, Shape]]:
    found = []
    for key, value in state.items():
        if any(key == p or key.startswith(p + ".") for p in exclude):
            continue
        if type(value) is torch.Tensor and value.is_floating_point():
            found.append((str(key), tuple(int(n) for n in value.shape)))
    return found


def match(theirs: Dict[str, Any], wanted: Sequence[Tuple[str, Shape]], exclude: Sequence[str] = ()) -> ParamMap:
    """Map every wanted ``(key, shape)`` onto one floating entry of ``theirs`` (keys under an
    ``exclude`` prefix are left out): same key and shape first, then by shape in order."""
    candidates = _floating(theirs, exclude)
    shapes = dict(candidates)
    result = ParamMap()
    claimed = set()
    for key, shape in wanted:
        if shapes.get(key) == tuple(shape):
            result.keys[key] = key
            claimed.add(key)
    for key, shape in wanted:
        if key in result.keys:
            continue
        free = [k for k, s in candidates if s == tuple(shape) and k not in claimed]
        if not free:
            result.missing.append(key)
            continue
        result.keys[key] = free[0]
        claimed.add(free[0])
        rivals = sum(1 for k, s in wanted if s == tuple(shape) and k != key)
        if rivals and free[0] != key:
            result.assumed.append((key, free[0]))
    return result


# The reproducer's lines for seeded values loaded into a student's module (see ``seeded_text``).
ALL_SEEDED = (
    "with torch.no_grad():  # the grader's seeded values, in the order of your state_dict()\n"
    "    for i, p in enumerate(v for v in {name}.state_dict().values() if v.is_floating_point()):\n"
    "        p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed({start} + i)){times})"
)
SOME_SEEDED = (
    "with torch.no_grad():  # the grader's seeded values, by your state_dict() keys\n"
    "    for key, seed in {seeds}.items():\n"
    "        p = {name}.state_dict()[key]\n"
    "        p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(seed)){times})"
)


def seeded_text(name: str, theirs: Dict[str, Any], seeds: Dict[str, int], scale: float) -> str:
    """Code a student can paste that puts into ``name`` what the grader loaded: for each of its
    state-dict keys in ``seeds``, ``torch.randn(shape, generator=seeded(seed)) * scale`` (the other
    entries keep their values). A few short lines whatever the module's size, where the values
    themselves would run to thousands of characters."""
    times = "" if scale == 1.0 else f" * {scale!r}"
    floating = [key for key, _ in _floating(theirs, ())]
    ordered = sorted(seeds, key=lambda k: seeds[k])
    start = seeds[ordered[0]] if ordered else 0
    if ordered == floating and all(seeds[k] == start + i for i, k in enumerate(ordered)):
        return ALL_SEEDED.format(name=name, start=start, times=times)
    return SOME_SEEDED.format(name=name, seeds={k: seeds[k] for k in ordered}, times=times)


def load(
    module: Any,
    theirs: Dict[str, Any],
    mapping: ParamMap,
    values: Dict[str, torch.Tensor],
    seeds: Optional[Dict[str, int]] = None,
    scale: float = 1.0,
) -> None:
    """Load ``values`` (by wanted key) into ``module`` through ``mapping``; its other entries keep
    the values ``theirs`` (its own ``state_dict()``) gave. ``seeds`` (by wanted key): each value is
    ``randn(seeds[key], *shape, scale=scale)``, which the reproducer shows as a short loop; else it
    shows the loaded entries themselves (seeded constructors or exact values)."""
    state = dict(theirs)
    for wanted, key in mapping.keys.items():
        state[key] = values[wanted]
    name = module.name
    if seeds is not None:
        shown = seeded_text(name, theirs, {key: seeds[wanted] for wanted, key in mapping.keys.items()}, scale)
    else:
        loaded = {key: values[wanted] for wanted, key in mapping.keys.items()}
        shown = f"{name}.load_state_dict({describe_value(loaded)}, strict=False)"
    module.load_state_dict(state, shown=shown)


def load_like(module: Any, reference: torch.nn.Module, seed: int, scale: float = 0.5, exclude: Sequence[str] = (), skip: Sequence[str] = ()) -> ParamMap:
    """Draw seeded values for every floating entry of ``reference``'s state (those under a ``skip``
    prefix are drawn but not sought in ``module``), load them into ``reference`` and, matched by
    shape and role, into ``module`` (whose keys under an ``exclude`` prefix are left alone)."""
    values, seeds = {}, {}
    for i, (key, value) in enumerate(reference.state_dict().items()):
        values[key] = randn(seed + i, *value.shape, scale=scale) if value.is_floating_point() else value
        seeds[key] = seed + i
    reference.load_state_dict(values)
    theirs = module.state_dict()
    expect_type(theirs, [dict], f"{module.name}.state_dict()", f"{module.name}.state_dict()")
    wanted = [
        (k, tuple(v.shape))
        for k, v in values.items()
        if v.is_floating_point() and not any(k.startswith(p + ".") for p in skip)
    ]
    mapping = match(theirs, wanted, exclude)
    load(module, theirs, mapping, values, seeds, scale)
    return mapping


__all__ = ["ParamMap", "load", "load_like", "match", "seeded_text"]
