"""A Python file as notebook-sized chunks: runs of top-level statements, and one chunk per definition.

The module docstring is dropped (the handout says it better) and so are imports of the
assignment's own modules (``from attention import Transformer``): in a notebook every cell runs in
one kernel, so those names are already defined. Comments between two top-level statements go with
the statement after them. A solution region's ``### END SOLUTION`` may sit after the function's
last statement (comments are not in the AST), so a definition's chunk is stretched to cover it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

from autograder.assign.markers import find_regions

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Chunk:
    kind: str  # "definition" (one def or class) or "statements" (imports, constants, ...)
    names: Tuple[str, ...]  # the name a definition binds; () for statements
    text: str
    solution: bool  # holds at least one solution region


def is_sibling_import(node: ast.stmt, siblings: Sequence[str]) -> bool:
    """``import attention`` / ``from attention import X`` where attention is one of the bundle's files."""
    if isinstance(node, ast.ImportFrom):
        return bool(node.module) and not node.level and node.module.split(".")[0] in siblings
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in siblings for alias in node.names)
    return False


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


def _trim(lines: List[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def chunks(text: str, path: Path, siblings: Sequence[str] = ()) -> List[Chunk]:
    """The file's chunks in order; ``path`` names the file in errors (a ``MarkerError``)."""
    regions = find_regions(text, path)  # also rejects malformed markers and invalid Python
    lines = text.splitlines()
    body = ast.parse(text, filename=str(path)).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        previous_end = body[0].end_lineno or body[0].lineno
        body = body[1:]
    else:
        previous_end = 0
    out: List[Chunk] = []
    pending: List[str] = []  # the current run of statements
    pending_solution = False

    def flush() -> None:
        nonlocal pending, pending_solution
        if _trim(pending):
            out.append(Chunk("statements", (), _trim(pending), pending_solution))
        pending, pending_solution = [], False

    for node in body:
        start = _first_line(node)
        end = node.end_lineno or node.lineno
        end = max([end] + [r.end for r in regions if start <= r.begin <= end])
        leading = lines[previous_end : start - 1]
        own = lines[start - 1 : end]
        solution = any(start <= r.begin <= end for r in regions)
        previous_end = end
        if is_sibling_import(node, siblings):
            continue
        if isinstance(node, DEFINITIONS):
            flush()
            out.append(Chunk("definition", (node.name,), _trim(leading + own), solution))
        else:
            pending += leading + own
            pending_solution = pending_solution or solution
    trailing = lines[previous_end:]
    if _trim(trailing):
        if pending or not out:
            pending += trailing
        else:
            last = out[-1]
            out[-1] = Chunk(last.kind, last.names, _trim(last.text.splitlines() + trailing), last.solution)
    flush()
    return out

