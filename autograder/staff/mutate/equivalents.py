"""Accepted equivalent mutants: ``assignments/<a>/mutants.toml``, written by staff, checked on load.

A mutant that survives the hidden tests is either a gap in them or *equivalent*: it computes the
same thing as the reference (``x.transpose(-2, -1)`` written ``x.transpose(-1, -2)``), so no test
could tell it apart. Staff record the equivalent ones here, each with its reason; they then no
longer count against the problem's mutation score::

    [[equivalent]]
    id = "rmsnorm.const.1a2b3c4d"          # the mutant's id, as `mutate` prints it
    reason = "eps 1e-8 against a mean square of at least 1e-2: no test input can see it"

Ids hash the changed line, so editing that line in the solution retires the entry (`mutate`
says which entries no longer match a mutant).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from autograder.staff.mutate import MutateError

FILE_NAME = "mutants.toml"
ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z_]+\.[0-9a-f]{8}$")
KEYS = {"id", "reason"}


class EquivalentsError(MutateError):
    """``mutants.toml`` is malformed; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class Equivalent:
    id: str
    reason: str


def path_for(root: Path, assignment_id: str) -> Path:
    return root / "assignments" / assignment_id / FILE_NAME


def load(path: Path, problems: tuple = ()) -> Dict[str, Equivalent]:
    """The accepted equivalents by id; an absent file is an empty list."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EquivalentsError(f"{path}: not valid TOML ({exc}); see the format in the README's section on mutate") from exc
    extra = sorted(set(data) - {"equivalent"})
    if extra:
        raise EquivalentsError(f"{path}: unknown table or key {', '.join(extra)}; the file holds only [[equivalent]] entries")
    entries = data.get("equivalent", [])
    if not isinstance(entries, list):
        raise EquivalentsError(f"{path}: 'equivalent' should be an array of tables, written [[equivalent]]")
    found: Dict[str, Equivalent] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: [[equivalent]] number {number}"
        unknown = sorted(set(entry) - KEYS)
        if unknown:
            raise EquivalentsError(f"{where}: unknown key {', '.join(unknown)}; the keys are id and reason")
        ident, reason = entry.get("id"), entry.get("reason")
        if not isinstance(ident, str) or not ID.match(ident):
            raise EquivalentsError(f"{where}: id={ident!r}, but should be a mutant id as mutate prints it, e.g. 'rmsnorm.const.1a2b3c4d'")
        if problems and ident.split(".")[0] not in problems:
            raise EquivalentsError(f"{where}: id={ident!r} names problem {ident.split('.')[0]!r}, but should name one of {', '.join(problems)}")
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise EquivalentsError(f"{where} ({ident}): reason={reason!r}, but should say in a sentence why no test can tell it from the reference")
        if ident in found:
            raise EquivalentsError(f"{where}: id {ident!r} is listed twice; keep one entry")
        found[ident] = Equivalent(ident, reason.strip())
    return found
