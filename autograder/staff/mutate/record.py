"""The record of a mutation run, ``assignments/<a>/mutation.json``, and the scores read from it.

The record holds every mutant's outcome and a fingerprint of what decided it: the solution files
(``sources``), the hidden-test files (``hidden``) and each problem's symbols and
``max_examples``. Scores are computed from the record and the current accepted equivalents
(``mutants.toml``) whenever they are read, so accepting an equivalent needs no new run. ``build``
shows them in its proof table, or "stale" when the fingerprint no longer matches.

Mutation score of a problem = killed / (generated − accepted equivalents − crashed at import −
grader errors). A mutant is *killed* when it loses points on its problem, *survives* with full
marks; one that cannot even be imported (a region that runs at import time) or whose grading
failed says nothing about the checks' strength, so it is left out of the score.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from autograder.config import Assignment, Config
from autograder.grade.engine import hidden_files
from autograder.staff.mutate import MutateError
from autograder.staff.mutate import equivalents as equivalents_mod

FILE_NAME = "mutation.json"
STATUSES = ("killed", "survived", "crashed", "error")
VERSION = 1
DEFINITION = "score = killed / (generated - accepted equivalents - crashed at import - grader errors)"


class RecordError(MutateError):
    """``mutation.json`` cannot be read; the message names the file and the fix."""


def path_for(config: Config, assignment: Assignment) -> Path:
    return config.root / "assignments" / assignment.id / FILE_NAME


def fingerprint(config: Config, assignment: Assignment) -> str:
    """sha256 of the solution files, the hidden-test files and what each problem runs."""
    digest = hashlib.sha256()
    base = config.root / "assignments"
    parts = [(f"solutions/{name}", config.root / "solutions" / name) for name in assignment.sources]
    parts += [(f"assignments/{path.relative_to(base).as_posix()}", path) for path in hidden_files(config, assignment)]
    for name, path in parts:
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode("utf-8") + data)
    problems = [[p.id, list(p.symbols), p.max_examples] for p in assignment.problems]
    digest.update(json.dumps(problems, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class Score:
    """One problem's figures, with the equivalents of ``mutants.toml`` applied."""

    generated: int
    killed: int
    survived: int  # not accepted as equivalent
    equivalent: int  # survived, accepted as equivalent
    crashed: int
    errors: int
    wrongly_equivalent: tuple = ()  # accepted as equivalent, yet killed: the entry is wrong

    @property
    def judged(self) -> int:
        return self.generated - self.equivalent - self.crashed - self.errors

    @property
    def value(self) -> Optional[float]:
        return self.killed / self.judged if self.judged else None

    def percent(self) -> str:
        return "n/a" if self.value is None else f"{100 * self.value:.0f}%"


def score(mutants: List[Dict[str, Any]], accepted: Dict[str, Any]) -> Score:
    count = {status: 0 for status in STATUSES}
    equivalent = 0
    for mutant in mutants:
        if mutant["status"] == "survived" and mutant["id"] in accepted:
            equivalent += 1
        else:
            count[mutant["status"]] += 1
    wrong = tuple(m["id"] for m in mutants if m["status"] == "killed" and m["id"] in accepted)
    return Score(len(mutants), count["killed"], count["survived"], equivalent, count["crashed"], count["error"], wrong)


def read(path: Path) -> Optional[Dict[str, Any]]:
    """The record at ``path``, or None if there is none."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: not valid JSON ({exc}); delete it and run mutate again") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("problems"), dict):
        raise RecordError(f"{path}: not a mutation record of version {VERSION}; delete it and run mutate again")
    return data


def write(path: Path, config: Config, assignment: Assignment, problems: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Save the problems just run; a record of the same fingerprint keeps its other problems."""
    current = fingerprint(config, assignment)
    try:
        old = read(path)
    except RecordError:
        old = None  # replaced by this run's record
    kept = old["problems"] if old and old.get("fingerprint") == current and old.get("assignment") == assignment.id else {}
    merged = {**kept, **problems}
    record = {
        "version": VERSION,
        "assignment": assignment.id,
        "fingerprint": current,
        "definition": DEFINITION,
        "problems": {p.id: merged[p.id] for p in assignment.problems if p.id in merged},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)
    return record


def proof_column(config: Config, assignment: Assignment) -> Dict[str, str]:
    """Per problem, what ``build``'s proof table shows: the score, "stale", or nothing.

    Never raises: a broken record or equivalents file is shown, not a reason to refuse a build.
    """
    try:
        data = read(path_for(config, assignment))
        accepted = equivalents_mod.load(equivalents_mod.path_for(config.root, assignment.id))
    except (RecordError, equivalents_mod.EquivalentsError) as exc:
        return {p.id: "unreadable" for p in assignment.problems} | {"": str(exc)}
    if data is None:
        return {}
    stale = data.get("fingerprint") != fingerprint(config, assignment)
    out: Dict[str, str] = {}
    for pid, entry in data["problems"].items():
        figures = score(entry.get("mutants", []), accepted)
        text = f"{figures.percent()} ({figures.killed}/{figures.judged})"
        out[pid] = f"stale: {text}" if stale else text
    return out
