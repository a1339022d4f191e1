"""The visible tests (``assignments/<a>/visible/*.py``, the ones ``.py`` students run with pytest) by problem.

A test belongs to the problem it is named after (``test_<problem id>`` or ``test_<problem id>_...``);
otherwise to the problem whose names it uses (the later one in ``grading.toml`` if several: it
needs them all); otherwise to the one problem of the file it imports from (among all the problems
``grading.toml`` lists for the assignment). The test cell of a
problem holds its tests' source, after the rest of their file (imports, constants) without the
imports of the assignment's own modules, which the notebook defines itself.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Set

from autograder.config import Assignment, Config, Problem
from autograder.notebook.layout import Chunk, chunks


class VisibleTestError(Exception):
    """A visible test that cannot be given to a problem; the message names the file and the fix."""


@dataclass
class ProblemTests:
    preambles: List[str] = field(default_factory=list)  # each contributing file's non-test code, once
    sources: List[str] = field(default_factory=list)  # the test functions' source
    names: List[str] = field(default_factory=list)  # the test functions' names, in order


def _imported_modules(text: str, siblings: Sequence[str]) -> Set[str]:
    found: Set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & set(siblings)


def _imported_from_elsewhere(text: str, siblings: Sequence[str], solutions: Path) -> Set[str]:
    """Names the file imports from modules of the course that this assignment does not have (a
    narrowed copy of the assignment, as in the project's own tests, lists only some of its files)."""
    found: Set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            module = node.module.split(".")[0]
            if module not in siblings and (solutions / f"{module}.py").is_file():
                found.update(alias.asname or alias.name for alias in node.names)
    return found


def _used(text: str) -> Set[str]:
    return {node.id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Name)}


def _problem_of(path: Path, test: Chunk, listed: Sequence[Problem], modules: Set[str], defined_in: Dict[str, str], elsewhere: Set[str]) -> str:
    name = test.names[0]
    for problem in sorted(listed, key=lambda p: -len(p.id)):
        if name == f"test_{problem.id}" or name.startswith(f"test_{problem.id}_"):
            return problem.id
    used = _used(test.text)
    by_names = [p.id for p in listed if used & set(p.symbols)]
    if by_names:
        return by_names[-1]
    if used & elsewhere:
        return ""  # a test of another file's problem: not this assignment's
    by_module = [p.id for p in listed if any(defined_in.get(s) in modules for s in p.symbols)]
    if len(by_module) == 1:
        return by_module[0]
    ids = ", ".join(p.id for p in listed)
    raise VisibleTestError(
        f"{path}: cannot tell which problem {name} tests (it uses no problem's names and its file's imports "
        f"do not decide): name it test_<problem id>_... with one of {ids}"
    )


def problem_tests(config: Config, assignment: Assignment, defined_in: Dict[str, str]) -> Dict[str, ProblemTests]:
    """Every problem's visible tests; ``defined_in`` maps a top-level name to its module (file stem).

    ``assignment`` may list only some of its problems (a narrowed copy, as in tests): a file that
    imports none of its modules, a test of a problem it does not list, and a test that uses names
    of a course module it does not have, are left out.
    """
    siblings = [Path(s).stem for s in assignment.sources]
    listed = config.assignment(assignment.id).problems
    out: Dict[str, ProblemTests] = {p.id: ProblemTests() for p in assignment.problems}
    folder = config.root / "assignments" / assignment.id / "visible"
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        modules = _imported_modules(text, siblings)
        if not modules:
            continue  # tests of files this assignment does not have
        elsewhere = _imported_from_elsewhere(text, siblings, config.root / "solutions")
        parts = chunks(text, path, siblings)
        preamble = "\n\n\n".join(c.text for c in parts if not (c.kind == "definition" and c.names[0].startswith("test")))
        for test in (c for c in parts if c.kind == "definition" and c.names[0].startswith("test")):
            problem = _problem_of(path, test, listed, modules, defined_in, elsewhere)
            if problem not in out:
                continue
            found = out[problem]
            if preamble and preamble not in found.preambles:
                found.preambles.append(preamble)
            found.sources.append(test.text)
            found.names.append(test.names[0])
    return out
