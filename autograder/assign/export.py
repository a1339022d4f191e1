"""Merge an assignment's files into the one file students upload.

This file is copied as it is into the student bundle as ``export_submission.py``, so it uses the
standard library only. Imports at the top of each file are gathered once at the top of the
result; imports of the bundle's own sibling files are dropped, since everything ends up in one
module; module docstrings are dropped; the rest is concatenated in order.

Student use:  python export_submission.py        (writes the upload file next to this script,
and lists the problems whose code still raises ``NotImplementedError``, as the stubs do)
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

# Filled in by the build for the student bundle; the grader passes them explicitly.
SOURCES: Tuple[str, ...] = ()
UPLOAD = "my_llm_implementation.py"
PROBLEMS: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()  # (problem title, its top-level names)


class ExportError(Exception):
    """A file that cannot be merged; the message names the file and what to fix."""


def _split(text: str, path: str, siblings: Sequence[str]) -> Tuple[List[str], str]:
    """(top-level imports, the rest) of one file."""
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise ExportError(f"{path}, line {exc.lineno}: {exc.msg}. Fix this syntax error, then export again.") from exc
    lines = text.splitlines()
    drop: set = set()
    imports: List[str] = []
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            drop.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
            drop.update(span)
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if (module and module.split(".")[0] in siblings) or any(n.split(".")[0] in siblings for n in names):
                continue  # a sibling file: its names are in the merged module already
            imports.append("\n".join(lines[i - 1] for i in span))
    rest = "\n".join(line for number, line in enumerate(lines, start=1) if number not in drop)
    return imports, rest.strip("\n")


def merge(files: Sequence[Tuple[str, str]], header: str = "", siblings: Sequence[str] = ()) -> str:
    """``files`` is (name, text) in order; the merged module's text. Imports of ``files`` and of
    the modules named in ``siblings`` (the assignment's other files, when some are missing) go."""
    siblings = [Path(name).stem for name, _ in files] + [Path(name).stem for name in siblings]
    imports: List[str] = []
    parts: List[str] = []
    for name, text in files:
        file_imports, rest = _split(text, name, siblings)
        for statement in file_imports:
            if statement not in imports:
                imports.append(statement)
        parts.append(f"# ---- {name} " + "-" * max(0, 70 - len(name)) + "\n\n" + rest)
    future = [s for s in imports if s.startswith("from __future__")]
    others = [s for s in imports if s not in future]
    head = f'"""{header}"""\n' if header else ""
    return head + "\n".join(future + others) + "\n\n\n" + "\n\n\n".join(parts) + "\n"


def _raises_not_implemented(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Raise) and inner.exc is not None:
            target = inner.exc.func if isinstance(inner.exc, ast.Call) else inner.exc
            if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                return True
    return False


def unfinished(text: str, problems: Sequence[Tuple[str, Sequence[str]]]) -> List[str]:
    """The problems (by the first item of each pair) whose names still raise ``NotImplementedError``
    somewhere in their last top-level definition, as the stubs do; found without running anything."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    defined = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[node.name] = node  # a later definition replaces an earlier one, as at run time
    return [name for name, symbols in problems if any(s in defined and _raises_not_implemented(defined[s]) for s in symbols)]


def export(folder: Path, sources: Sequence[str], upload: str) -> Path:
    missing = [s for s in sources if not (folder / s).is_file()]
    if missing:
        raise ExportError(f"missing {', '.join(missing)} in {folder}: export from the folder that holds your files")
    files = [(s, (folder / s).read_text(encoding="utf-8")) for s in sources]
    target = folder / upload
    header = f"{upload}: written by export_submission.py from {', '.join(sources)}. Upload this file."
    target.write_text(merge(files, header), encoding="utf-8")
    return target


def main() -> int:
    here = Path(__file__).resolve().parent
    try:
        target = export(here, SOURCES, UPLOAD)
    except ExportError as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target}: upload this one file to Gradescope")
    left = unfinished(target.read_text(encoding="utf-8"), PROBLEMS)
    if left:
        print(f"not finished yet (still raising NotImplementedError, so they score 0): {'; '.join(left)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
