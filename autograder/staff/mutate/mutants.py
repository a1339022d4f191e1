"""Mutants of an assignment: one operator's edit of one solution region, as a whole upload.

A region (``### BEGIN SOLUTION`` .. ``### END SOLUTION`` in ``solutions/*.py``) belongs to the
problem whose ``symbols`` (``grading.toml``) hold the top-level name it sits in (``AttentionHead``
for a region in ``AttentionHead.forward``). A mutant is the reference upload with exactly one
region of one file edited; it is kept only if it still parses and differs from the reference's
AST. Mutants are sorted by file, line, column and operator; a problem's mutants beyond the cap
are thinned round-robin over operators, so every kind of mistake is still tried.

A mutant's id, ``<problem>.<operator>.<8 hex>``, hashes the file, the function and the changed
lines (whitespace removed), not line numbers: it survives edits elsewhere in the file, and
changes when the mutated line itself changes (an accepted equivalent must then be judged again).
"""
from __future__ import annotations

import ast
import difflib
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

from autograder.assign.export import merge
from autograder.assign.markers import Region, find_regions
from autograder.config import Assignment, Config
from autograder.staff.mutate.operators import Edit, Source, edits


@dataclass(frozen=True)
class Mutant:
    id: str
    problem: str
    file: str  # the solution file, e.g. "attention.py"
    function: str  # the region's function, e.g. "AttentionHead.forward"
    operator: str
    what: str  # the change in a few words
    line: int  # 1-based, in solutions/<file>
    upload: str  # the whole upload (every source merged, this one mutated)
    diff: str  # unified diff of the solution file, reference → mutant


@dataclass(frozen=True)
class Skipped:
    """A region no problem of the assignment owns (so no check could judge its mutants)."""

    file: str
    function: str
    line: int


def owner(region: Region, assignment: Assignment, reach: Optional[Dict[str, Set[str]]] = None) -> Optional[str]:
    """The problem that judges the region: the one whose symbols hold its top-level name, else
    (a given building block such as pico-llm's ``TransformerBlock``) the first problem, in
    ``grading.toml`` order, whose symbols' code uses that name (``reach``); None if none does."""
    top = region.qualname.split(".")[0]
    direct = next((p.id for p in assignment.problems if top in p.symbols), None)
    if direct is not None or reach is None:
        return direct
    return next((p.id for p in assignment.problems if top in reach.get(p.id, set())), None)


def reach(upload: str, assignment: Assignment) -> Dict[str, Set[str]]:
    """Per problem, the top-level names of ``upload`` its symbols' code uses, transitively."""
    uses: Dict[str, Set[str]] = {}
    for node in ast.parse(upload).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            uses[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    out: Dict[str, Set[str]] = {}
    for problem in assignment.problems:
        seen: Set[str] = set()
        stack = list(problem.symbols)
        while stack:
            name = stack.pop()
            if name not in seen and name in uses:
                seen.add(name)
                stack.extend(uses[name])
        out[problem.id] = seen
    return out


def _region_statements(tree: ast.Module, region: Region) -> List[ast.stmt]:
    """The outermost statements that lie wholly between the region's markers."""
    found: List[ast.stmt] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt) and region.begin < child.lineno and (child.end_lineno or child.lineno) < region.end:
                found.append(child)
            elif isinstance(child, ast.stmt) and child.lineno <= region.end and (child.end_lineno or child.lineno) >= region.begin:
                visit(child)

    visit(tree)
    return found


def _normalised(text: str) -> str:
    return "".join(text.split())


def mutant_id(problem: str, operator: str, file: str, function: str, old: str, new: str) -> str:
    digest = hashlib.sha256("\n".join([file, function, _normalised(old), _normalised(new)]).encode("utf-8")).hexdigest()
    return f"{problem}.{operator}.{digest[:8]}"


def _changed_lines(source: Source, edit: Edit, mutated: str) -> tuple:
    """(old, new) text of the lines the edit touches, whole lines."""
    old = "".join(source.lines[edit.line - 1 : edit.end_line])
    grown = len(mutated.splitlines()) - len(source.lines)
    new = "".join(mutated.splitlines(keepends=True)[edit.line - 1 : edit.end_line + grown])
    return old, new


def _diff(name: str, old: str, new: str, ident: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), f"solutions/{name}", f"solutions/{name} ({ident})", n=2)
    return "".join(lines)


def file_mutants(name: str, text: str, assignment: Assignment, uses: Optional[Dict[str, Set[str]]] = None) -> tuple:
    """(mutated file text keyed by Mutant fields, skipped regions) of one solution file."""
    path = Path("solutions") / name
    tree = ast.parse(text, filename=str(path))
    reference_dump = ast.dump(tree)
    source = Source(text)
    found = []
    skipped: List[Skipped] = []
    for region in find_regions(text, path):
        problem = owner(region, assignment, uses)
        if problem is None:
            skipped.append(Skipped(name, region.qualname, region.begin))
            continue
        for edit in edits(text, _region_statements(tree, region)):
            mutated = source.apply(edit)
            try:
                mutated_tree = ast.parse(mutated, filename=str(path))
            except SyntaxError:
                continue  # an operator's edit that does not parse is no upload a student could make
            if ast.dump(mutated_tree) == reference_dump:
                continue
            old, new = _changed_lines(source, edit, mutated)
            ident = mutant_id(problem, edit.operator, name, region.qualname, old, new)
            found.append((edit, problem, region.qualname, ident, mutated))
    return found, skipped


def generate(
    config: Config, assignment: Assignment, problems: Optional[Sequence[str]] = None, max_per_problem: Optional[int] = None
) -> tuple:
    """(mutants sorted by id within each problem's share, skipped regions) of the assignment."""
    files = [(name, (config.root / "solutions" / name).read_text(encoding="utf-8")) for name in assignment.sources]
    header = f"{assignment.upload}: a mutant of the reference solution of {assignment.id} (staff only)."
    by_problem: Dict[str, List[Mutant]] = defaultdict(list)
    skipped: List[Skipped] = []
    seen = set()
    uses = reach(merge(files), assignment)
    for index, (name, text) in enumerate(files):
        found, missed = file_mutants(name, text, assignment, uses)
        skipped += missed
        for edit, problem, function, ident, mutated in sorted(found, key=lambda f: (f[0].line, f[0].col, f[0].operator, f[0].text)):
            if (problems and problem not in problems) or ident in seen or mutated in seen:
                continue
            seen.update((ident, mutated))
            upload = merge(files[:index] + [(name, mutated)] + files[index + 1 :], header)
            by_problem[problem].append(Mutant(ident, problem, name, function, edit.operator, edit.what, edit.line, upload, _diff(name, text, mutated, ident)))
    chosen: List[Mutant] = []
    for problem in assignment.problems:
        chosen += thin(by_problem.get(problem.id, []), max_per_problem)
    return chosen, skipped


def thin(mutants: List[Mutant], cap: Optional[int]) -> List[Mutant]:
    """At most ``cap`` mutants, taken round-robin over operators (in their order), in input order."""
    if cap is None or len(mutants) <= cap:
        return list(mutants)
    queues: Dict[str, List[Mutant]] = defaultdict(list)
    for mutant in mutants:
        queues[mutant.operator].append(mutant)
    taken = set()
    while len(taken) < cap:
        for operator in sorted(queues):
            if queues[operator] and len(taken) < cap:
                # Spread the picks over the region: every other one first, not the first lines only.
                queue = queues[operator]
                taken.add(queue.pop(len(queue) // 2 if len(queue) > 2 else 0).id)
    return [m for m in mutants if m.id in taken]
