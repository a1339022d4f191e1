"""Solution regions: find them, check them, and turn a reference file into a student stub.

A region is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's
markers). In the stub each region becomes one ``raise NotImplementedError(...)`` that names the
function and the problem, at the marker's indentation.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from autograder.errors import AutograderError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"


class MarkerError(AutograderError):
    """A nested, unterminated or misplaced marker; the message names the file and line."""


@dataclass(frozen=True)
class Region:
    begin: int  # 1-based line of the BEGIN marker
    end: int  # 1-based line of the END marker
    indent: str
    qualname: str  # the function the region sits in, e.g. "AttentionHead.forward"


def _qualnames(tree: ast.Module) -> List[Tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function, innermost last."""
    found: List[Tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def find_regions(text: str, path: Path) -> List[Region]:
    lines = text.splitlines()
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise MarkerError(f"{path}:{exc.lineno}: not valid Python: {exc.msg}") from exc
    functions = _qualnames(tree)
    regions: List[Region] = []
    open_at: Optional[int] = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if open_at is not None:
                raise MarkerError(f"{path}:{number}: {BEGIN} inside the region opened at line {open_at} (regions cannot nest)")
            open_at = number
        elif stripped == END:
            if open_at is None:
                raise MarkerError(f"{path}:{number}: {END} without a {BEGIN} before it")
            # The END marker may follow the function's last statement (comments are not in the AST).
            inside = [name for first, last, name in functions if first < open_at <= last]
            if not inside:
                raise MarkerError(f"{path}:{open_at}: a solution region must sit inside a function body")
            indent = lines[open_at - 1][: len(lines[open_at - 1]) - len(lines[open_at - 1].lstrip())]
            regions.append(Region(open_at, number, indent, inside[-1]))
            open_at = None
        elif stripped.startswith("### BEGIN") or stripped.startswith("### END"):
            raise MarkerError(f"{path}:{number}: unknown marker {stripped!r}; use {BEGIN!r} or {END!r}")
    if open_at is not None:
        raise MarkerError(f"{path}:{open_at}: {BEGIN} is never closed by {END}")
    return regions


def make_stub(text: str, path: Path, problems_by_symbol: Dict[str, str]) -> str:
    """The student's version of a reference file: every region replaced by a pointer to the handout."""
    lines = text.splitlines()
    out: List[str] = []
    cursor = 1
    for region in find_regions(text, path):
        out.extend(lines[cursor - 1 : region.begin - 1])
        top = region.qualname.split(".")[0]
        problem = problems_by_symbol.get(top)
        where = f" (problem '{problem}')" if problem else ""
        message = f"{region.qualname}{where} is not written yet: see the handout"
        out.append(f"{region.indent}# TODO: your code here")
        out.append(f"{region.indent}raise NotImplementedError({message!r})")
        cursor = region.end + 1
    out.extend(lines[cursor - 1 :])
    return "\n".join(out) + "\n"


def solution_lines(text: str, path: Path) -> List[str]:
    """Lines inside regions that do not also stand outside them (given code may repeat a line)."""
    lines = text.splitlines()
    inside: set = set()
    for region in find_regions(text, path):
        inside.update(range(region.begin + 1, region.end))
    outside = {lines[i - 1].strip() for i in range(1, len(lines) + 1) if i not in inside}
    keep = []
    for number in sorted(inside):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#") and stripped not in outside and len(stripped) > 3:
            keep.append(stripped)
    return keep
