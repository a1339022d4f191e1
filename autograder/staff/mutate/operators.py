"""Mutation operators: the small mistakes this field makes, as text edits of one solution region.

Each operator looks at one AST node inside a region and proposes ``Edit``s: a span of the file's
text (1-based lines, columns in characters) and what to put there. Edits replace the smallest
span that carries the change (an operator symbol, one argument, one statement), so a mutant's
diff against the reference is one line a person can read. Nothing here knows about problems,
sandboxes or grading: ``mutants.py`` applies the edits, checks that each result parses, and
names them.

Operators (``Edit.operator``):
- ``axis``: a dimension argument (``dim=``/``axis=``, or the axis of ``softmax``, ``sum``,
  ``cat``, ``transpose``...) moved: ``-1`` → ``-2`` or ``0``, ``1`` → ``2`` or ``0``.
- ``transpose``: a ``.transpose(...)``, ``.T`` or ``.mT`` dropped.
- ``off_by_one``: a slice bound or a ``range`` argument ``± 1``.
- ``compare``: ``<``↔``<=``, ``>``↔``>=``, ``==``↔``!=``, ``is``↔``is not``, ``in``↔``not in``.
- ``scale``: a division dropped (``x / sqrt(d)`` → ``x``), a scaling doubled
  (``/ sqrt(d)`` → ``/ sqrt(d) / sqrt(d)``), a ``* scale`` factor dropped or doubled.
- ``swap_call``: ``softmax``↔``log_softmax``, ``sum``↔``mean``, ``cross_entropy``↔``nll_loss``.
- ``mask``: a ``masked_fill(...)`` call dropped (its receiver kept).
- ``drop_term``: a ``+ b`` / ``- b`` term dropped (a bias, an eps, a residual, a mask term);
  a bias-like left term too.
- ``arith``: ``+``↔``-``, ``*``↔``/``.
- ``const``: an int nudged (0→1, 1→0, n→n±1), a float zeroed (an eps removed) or 0.0→1.0,
  ``True``↔``False`` (``bias=True``, ``descending=True``, ``keepdim=True``).
- ``delete``: a statement replaced by ``pass``.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Set

# Calls whose integer arguments (after the tensor, for functions) are axes.
AXIS_METHODS = {
    "softmax", "log_softmax", "sum", "mean", "cumsum", "argmax", "argmin", "max", "min", "size",
    "unsqueeze", "squeeze", "transpose", "swapaxes", "flatten", "norm", "var", "std", "logsumexp",
    "gather", "topk", "amax", "prod", "cat", "stack", "movedim",
}
AXIS_KEYWORDS = {"dim", "axis", "dim0", "dim1", "start_dim", "end_dim"}
CALL_SWAPS = {
    "softmax": "log_softmax",
    "log_softmax": "softmax",
    "sum": "mean",
    "mean": "sum",
    "cross_entropy": "nll_loss",
    "nll_loss": "cross_entropy",
}
SCALE_WORDS = ("sqrt", "scale", "temperature", "norm")
BIAS_WORDS = ("bias", "eps", "mask", "offset")
EPS_BELOW = 1e-3  # a float this small is an epsilon: "removing" it sets it to 0


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, col) to (end_line, end_col) by ``text``; lines 1-based."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str
    operator: str
    what: str  # one line for staff, e.g. "dim=-1 → dim=0"


class Source:
    """A file's text with character columns (the AST counts UTF-8 bytes)."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines(keepends=True)

    def col(self, line: int, byte_col: int) -> int:
        return len(self.lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> tuple:
        return (node.lineno, self.col(node.lineno, node.col_offset), node.end_lineno, self.col(node.end_lineno, node.end_col_offset))

    def segment(self, line: int, col: int, end_line: int, end_col: int) -> str:
        if line == end_line:
            return self.lines[line - 1][col:end_col]
        parts = [self.lines[line - 1][col:]] + self.lines[line : end_line - 1] + [self.lines[end_line - 1][:end_col]]
        return "".join(parts)

    def of(self, node: ast.AST) -> str:
        return self.segment(*self.span(node))

    def apply(self, edit: Edit) -> str:
        """The whole text with ``edit`` made."""
        before = "".join(self.lines[: edit.line - 1]) + self.lines[edit.line - 1][: edit.col]
        after = self.lines[edit.end_line - 1][edit.end_col :] + "".join(self.lines[edit.end_line :])
        return before + edit.text + after


def _name(node: ast.AST) -> str:
    """The last name of a Name/Attribute/Call chain, lower-cased ("" for anything else)."""
    if isinstance(node, ast.Call):
        return _name(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    if isinstance(node, ast.Name):
        return node.id.lower()
    return ""


def _mentions(node: ast.AST, words: Sequence[str]) -> bool:
    return any(word in _name(node) for word in words)


def _int_value(node: ast.AST) -> Optional[int]:
    """An int literal, also a negated one (``-1``); None for anything else."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int:
        return -node.operand.value
    return None


class _Collector:
    def __init__(self, source: Source):
        self.source = source
        self.edits: List[Edit] = []

    def replace(self, node: ast.AST, text: str, operator: str, what: str = "") -> None:
        old = self.source.of(node)
        if text != old:
            self.edits.append(Edit(*self.source.span(node), text, operator, what or f"{old.strip()} → {text.strip()}"))

    def replace_gap(self, left: ast.AST, right: ast.AST, old: str, new: str, operator: str) -> None:
        """Replace the operator symbol ``old`` that stands between two operands."""
        _, _, line, col = self.source.span(left)
        end_line, end_col, _, _ = self.source.span(right)
        gap = self.source.segment(line, col, end_line, end_col)
        if gap.count(old) != 1 or (old in "<>" and gap.count(old + "=") == 1) or (old == "/" and "//" in gap) or (old == "*" and "**" in gap):
            return
        self.edits.append(Edit(line, col, end_line, end_col, gap.replace(old, new), operator, f"{old} → {new}"))


ARITH = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}
COMPARE = {
    ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.IsNot: ("is not", "is"), ast.NotIn: ("not in", "in"),
}


def _axis_alternatives(value: int) -> List[int]:
    """Another axis a student might have meant: the neighbour, or the other end (``-1`` → ``-2``,
    ``0``). Not the negation: ``1`` and ``-1`` are the same axis of every 2-D tensor."""
    options = [value - 1, 0] if value < 0 else [value + 1, value - 1 if value > 0 else -1]
    return [v for v in dict.fromkeys(options) if v != value]


def _axis_args(call: ast.Call) -> List[ast.AST]:
    """The arguments of ``call`` that are axes."""
    found = [k.value for k in call.keywords if k.arg in AXIS_KEYWORDS]
    name = _name(call.func)
    if name in AXIS_METHODS:
        is_method = isinstance(call.func, ast.Attribute) and _name(call.func.value) not in ("torch", "f", "functional", "np", "numpy")
        positional = call.args if is_method else call.args[1:]
        if name == "topk":
            positional = positional[1:]  # topk(k, dim)
        if name == "gather":
            positional = positional[:1]  # gather(dim, index)
        found += positional
    return [node for node in found if _int_value(node) is not None]


def _visit(node: ast.AST, out: _Collector, axis_nodes: Set[int]) -> None:
    src = out.source
    if isinstance(node, ast.Call):
        for arg in _axis_args(node):
            axis_nodes.add(id(arg))
            if isinstance(arg, ast.UnaryOp):
                axis_nodes.add(id(arg.operand))
            for other in _axis_alternatives(_int_value(arg)):
                out.replace(arg, str(other), "axis")
        name = _name(node.func)
        if isinstance(node.func, (ast.Attribute, ast.Name)) and name in CALL_SWAPS:
            swapped = CALL_SWAPS[name]
            if isinstance(node.func, ast.Attribute):
                line, col, end_line, end_col = src.span(node.func)
                attr_col = end_col - len(node.func.attr)
                out.edits.append(Edit(end_line, attr_col, end_line, end_col, swapped, "swap_call", f"{name} → {swapped}"))
            else:
                out.replace(node.func, swapped, "swap_call")
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("transpose", "swapaxes", "permute"):
            out.replace(node, src.of(node.func.value), "transpose", f"{src.of(node).strip()} → {src.of(node.func.value).strip()} (no {node.func.attr})")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "masked_fill":
            out.replace(node, src.of(node.func.value), "mask", f"masked_fill dropped: → {src.of(node.func.value).strip()}")
        if isinstance(node.func, ast.Name) and node.func.id == "range":
            for arg in node.args[:2]:
                _off_by_one(arg, out)
    elif isinstance(node, ast.Attribute) and node.attr in ("T", "mT") and isinstance(node.ctx, ast.Load):
        out.replace(node, src.of(node.value), "transpose")
    elif isinstance(node, ast.Slice):
        for bound in (node.lower, node.upper):
            if bound is not None:
                _off_by_one(bound, out)
    elif isinstance(node, ast.Compare):
        for left, op, right in zip([node.left] + node.comparators, node.ops, node.comparators):
            if type(op) in COMPARE:
                old, new = COMPARE[type(op)]
                out.replace_gap(left, right, old, new, "compare")
            elif isinstance(op, ast.Is):
                out.replace_gap(left, right, "is", "is not", "compare")
            elif isinstance(op, ast.In):
                out.replace_gap(left, right, "in", "not in", "compare")
    elif isinstance(node, ast.BinOp):
        _binop(node, out)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        axis_nodes.add(id(node.operand))  # the literal is nudged as a whole, sign included
        value = node.operand.value
        if id(node) not in axis_nodes and isinstance(value, (int, float)) and not isinstance(value, bool):
            _constant(node, -value, out)
    elif isinstance(node, ast.Constant) and id(node) not in axis_nodes:
        _constant(node, node.value, out)


def _off_by_one(node: ast.AST, out: _Collector) -> None:
    """``node ± 1``; a literal is written as the new number (``1:`` → ``2:``, ``0:``)."""
    value = _int_value(node)
    text = out.source.of(node)
    for delta in (1, -1):
        new = str(value + delta) if value is not None else f"{_paren(text, node)} {'+' if delta > 0 else '-'} 1"
        out.replace(node, new, "off_by_one")


def _paren(text: str, node: ast.AST) -> str:
    """``text`` safe as the left operand of ``+ 1``."""
    simple = isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant))
    return text if simple else f"({text})"


def _binop(node: ast.BinOp, out: _Collector) -> None:
    src = out.source
    op = type(node.op)
    if op in ARITH:
        old, new = ARITH[op]
        out.replace_gap(node.left, node.right, old, new, "arith")
    left, right = src.of(node.left), src.of(node.right)
    # The left operand binds at least as tightly as the whole operation, so it can stand alone.
    if op is ast.Div:
        out.replace(node, left, "scale", f"division by {right.strip()} dropped")
        if _mentions(node.right, SCALE_WORDS):
            out.replace(node, f"{left} / {right} / {right}", "scale", f"division by {right.strip()} doubled")
    elif op is ast.Mult:
        if _mentions(node.right, SCALE_WORDS):
            out.replace(node, left, "scale", f"factor {right.strip()} dropped")
            out.replace(node, f"{left} * {right} * {right}", "scale", f"factor {right.strip()} doubled")
        if _mentions(node.left, SCALE_WORDS) and not isinstance(node.right, ast.BinOp):
            out.replace(node, right, "scale", f"factor {left.strip()} dropped")
    elif op in (ast.Add, ast.Sub):
        out.replace(node, left, "drop_term", f"term {'+' if op is ast.Add else '-'} {right.strip()} dropped")
        if op is ast.Add and _mentions(node.left, BIAS_WORDS) and not isinstance(node.right, ast.BinOp):
            out.replace(node, right, "drop_term", f"term {left.strip()} + dropped")


def _constant(node: ast.AST, value: object, out: _Collector) -> None:
    if isinstance(value, bool):
        out.replace(node, str(not value), "const")
    elif isinstance(value, int):
        for other in ([1] if value == 0 else [0] if value == 1 else [value + 1, value - 1]):
            out.replace(node, str(other), "const")
    elif isinstance(value, float):
        if value == 0.0:
            out.replace(node, "1.0", "const")
        elif abs(value) < EPS_BELOW:
            out.replace(node, "0.0", "const", f"eps {value!r} removed (→ 0.0)")
        else:
            out.replace(node, "0.0", "const")
            if value == 1.0:
                out.replace(node, "2.0", "const")


def _docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _inside_fstring(tree: ast.AST) -> Set[int]:
    """Nodes inside f-strings: their columns are not reliable, so no edit touches them."""
    return {id(n) for joined in ast.walk(tree) if isinstance(joined, ast.JoinedStr) for n in ast.walk(joined)}


def edits(text: str, statements: Sequence[ast.stmt]) -> Iterator[Edit]:
    """Every edit of every operator on ``statements`` (the region's top statements) of ``text``."""
    source = Source(text)
    out = _Collector(source)
    axis_nodes: Set[int] = set()
    skip: Set[int] = set()
    for statement in statements:
        skip |= _inside_fstring(statement)
    for statement in statements:
        for node in ast.walk(statement):
            if id(node) in skip:
                continue
            if isinstance(node, ast.stmt) and not isinstance(node, (ast.Pass, ast.FunctionDef, ast.ClassDef)) and not _docstring(node):
                line, col, _, _ = source.span(node)
                end_line, end_col = node.end_lineno, source.col(node.end_lineno, node.end_col_offset)
                if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
                    end_line, end_col = _block_end(node, source)
                out.edits.append(Edit(line, col, end_line, end_col, "pass", "delete", f"deleted: {source.lines[line - 1].strip()}"))
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
                continue
            if isinstance(node, ast.expr) or isinstance(node, ast.Slice):
                _visit(node, out, axis_nodes)
    yield from out.edits


def _block_end(node: ast.stmt, source: Source) -> tuple:
    """Where a compound statement ends: the end of its last line (it holds no code after it)."""
    last = node.end_lineno
    return last, len(source.lines[last - 1].rstrip("\r\n"))
