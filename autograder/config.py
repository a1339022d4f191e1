"""``grading.toml``: the only place for points, visibility and limits, loaded into frozen dataclasses.

Every key is checked on load: an unknown key gets an error that names the file, the table and
the closest valid key; a wrong type or value gets an error that says what it should be.
"""
from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from autograder.errors import AutograderError

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ASSIGNMENT_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class Limits:
    """Resources for one problem's session (from ``grading.toml``)."""

    time_seconds: float = 60.0
    memory_mb: int = 2048
    processes: int = 32
    file_mb: int = 16

    def for_child(self) -> Dict[str, int]:
        return {
            "memory_mb": self.memory_mb,
            "cpu_seconds": int(self.time_seconds) + 5,
            "processes": self.processes,
            "file_mb": self.file_mb,
        }

    @property
    def disk_mb(self) -> int:
        """All the files a session may keep in its private folder at once."""
        return 4 * self.file_mb


class ConfigError(AutograderError):
    """``grading.toml`` is malformed; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Problem:
    id: str
    title: str
    points: float
    symbols: Tuple[str, ...]
    visibility: str
    limits: Limits
    max_examples: int


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    upload: str  # the single file students upload
    sources: Tuple[str, ...]  # files in solutions/, in the order they are merged
    problems: Tuple[Problem, ...]
    hidden: Tuple[str, ...] = ()  # globs under assignments/ for the hidden-test modules
    time_budget: float = 300.0  # wall-clock seconds for grading one submission, all problems together

    @property
    def total_points(self) -> float:
        return sum(p.points for p in self.problems)

    def problem(self, problem_id: str) -> Problem:
        for problem in self.problems:
            if problem.id == problem_id:
                return problem
        raise KeyError(problem_id)


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    assignments: Tuple[Assignment, ...]

    def assignment(self, name: str) -> Assignment:
        for assignment in self.assignments:
            if assignment.id == name:
                return assignment
        known = [a.id for a in self.assignments]
        raise ConfigError(f"{self.path}: no assignment {name!r}{_suggest(name, known)}; known: {', '.join(known)}")


# Each table's keys: name -> (type, required, what it means). The descriptions are the docs.
_DEFAULT_KEYS: Dict[str, Tuple[type, str]] = {
    "time_limit": (float, "seconds of wall-clock time for one problem's hidden tests"),
    "memory_limit": (int, "MB of address space for the submission's process (torch alone needs ~700)"),
    "processes": (int, "processes and threads the submission may run at once"),
    "file_limit": (int, "MB the submission may write to one file"),
    "visibility": (str, f"Gradescope visibility of a problem's tests: one of {', '.join(VISIBILITIES)}"),
    "max_examples": (int, "hypothesis examples per property"),
}
# Keys for a whole submission, not one problem: in [defaults] or an assignment's table.
_SUBMISSION_KEYS: Dict[str, Tuple[type, str]] = {
    "submission_time_limit": (
        float,
        "seconds of wall-clock time for grading one whole submission, sandbox start-up and every problem "
        "together (default 300, well under Gradescope's 10-minute timeout); problems not reached in time "
        "are not graded, and the running one's time limit is cut to what is left",
    ),
}
_ASSIGNMENT_KEYS: Dict[str, Tuple[type, str]] = {
    "title": (str, "the assignment's title"),
    "upload": (str, "the one file students upload, e.g. my_llm_implementation.py"),
    "sources": (list, "files in solutions/, merged in this order into the upload file"),
    "problems": (list, "the graded problems, as [[assignments.NAME.problems]] tables"),
    "hidden": (list, "hidden-test files, as globs under assignments/ (default: NAME/hidden/*.py); lets assignments share checks"),
    **_SUBMISSION_KEYS,
}
_PROBLEM_KEYS: Dict[str, Tuple[type, str]] = {
    "id": (str, "the problem's id: lower case, digits and _; tags its tests"),
    "title": (str, "what students see"),
    "points": (float, "points for the whole problem, split over its checks by weight"),
    "symbols": (list, "names in the upload that this problem grades"),
    **_DEFAULT_KEYS,
}
_REQUIRED_ASSIGNMENT = ("title", "upload", "sources", "problems")
_REQUIRED_PROBLEM = ("id", "title", "points", "symbols")


def _suggest(word: str, options: List[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(path: Path, where: str, table: Mapping[str, Any], allowed: Mapping[str, Tuple[type, str]]) -> None:
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key {key!r} in {where}{_suggest(key, list(allowed))}")
        kind, meaning = allowed[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else isinstance(value, kind)
        if kind is int and isinstance(value, bool):
            ok = False
        if not ok:
            raise ConfigError(f"{path}: {where}.{key}={value!r}, but should be a {kind.__name__}: {meaning}")


def _positive(path: Path, where: str, key: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{path}: {where}.{key}={value!r}, but should be greater than 0")


def _problem(path: Path, where: str, table: Mapping[str, Any], defaults: Mapping[str, Any]) -> Problem:
    _check_keys(path, where, table, _PROBLEM_KEYS)
    for key in _REQUIRED_PROBLEM:
        if key not in table:
            raise ConfigError(f"{path}: {where} has no {key!r}: {_PROBLEM_KEYS[key][1]}")
    merged = {**defaults, **table}
    if not _ID.match(table["id"]):
        raise ConfigError(f"{path}: {where}.id={table['id']!r}, but should be lower case letters, digits and _")
    symbols = table["symbols"]
    if not symbols or not all(isinstance(s, str) and s.isidentifier() for s in symbols):
        raise ConfigError(f"{path}: {where}.symbols={symbols!r}, but should be a non-empty list of Python names")
    for key in ("points", "time_limit", "memory_limit", "processes", "file_limit", "max_examples"):
        _positive(path, where, key, merged[key])
    if merged["visibility"] not in VISIBILITIES:
        raise ConfigError(
            f"{path}: {where}.visibility={merged['visibility']!r}, but should be one of {', '.join(VISIBILITIES)}"
            f"{_suggest(merged['visibility'], list(VISIBILITIES))}"
        )
    limits = Limits(
        time_seconds=float(merged["time_limit"]),
        memory_mb=int(merged["memory_limit"]),
        processes=int(merged["processes"]),
        file_mb=int(merged["file_limit"]),
    )
    return Problem(
        id=table["id"],
        title=table["title"],
        points=float(table["points"]),
        symbols=tuple(symbols),
        visibility=merged["visibility"],
        limits=limits,
        max_examples=int(merged["max_examples"]),
    )


def _assignment(path: Path, root: Path, name: str, table: Any, defaults: Mapping[str, Any]) -> Assignment:
    where = f"[assignments.{name}]"
    if not _ASSIGNMENT_ID.match(name):
        raise ConfigError(f"{path}: assignment name {name!r} should be lower case letters, digits, - and _")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {where} should be a table")
    _check_keys(path, where, table, _ASSIGNMENT_KEYS)
    for key in _REQUIRED_ASSIGNMENT:
        if key not in table:
            raise ConfigError(f"{path}: {where} has no {key!r}: {_ASSIGNMENT_KEYS[key][1]}")
    for source in table["sources"]:
        if not isinstance(source, str) or not (root / "solutions" / source).is_file():
            raise ConfigError(f"{path}: {where}.sources names {source!r}, but there is no such file in {root / 'solutions'}")
    problems = []
    for index, entry in enumerate(table["problems"]):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {where}.problems[{index}] should be a table")
        problems.append(_problem(path, f"[[assignments.{name}.problems]] #{index + 1}", entry, defaults))
    ids = [p.id for p in problems]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{path}: {where} lists problem ids more than once: {', '.join(duplicates)}")
    if not problems:
        raise ConfigError(f"{path}: {where} has no problems")
    budget = table.get("submission_time_limit", defaults["submission_time_limit"])
    _positive(path, where, "submission_time_limit", budget)
    hidden = table.get("hidden", [f"{name}/hidden/*.py"])
    if not hidden or not all(isinstance(h, str) and ".." not in h for h in hidden):
        raise ConfigError(f"{path}: {where}.hidden={hidden!r}, but should be a non-empty list of globs under assignments/")
    return Assignment(
        id=name,
        title=table["title"],
        upload=table["upload"],
        sources=tuple(table["sources"]),
        problems=tuple(problems),
        hidden=tuple(hidden),
        time_budget=float(budget),
    )


BUILTIN_DEFAULTS: Dict[str, Any] = {
    "time_limit": 60.0,
    "memory_limit": 2048,
    "processes": 32,
    "file_limit": 16,
    "visibility": "visible",
    "max_examples": 20,
    "submission_time_limit": 300.0,
}


CONFIG_NAME = "grading.toml"
CONFIG_ENV = "AUTOGRADER_CONFIG"  # names the grading.toml when the command line does not


def find(start: Optional[Path] = None) -> Path:
    """The grading.toml to use when none is named: ``$AUTOGRADER_CONFIG``, else the nearest
    grading.toml in ``start`` (default: the current folder) or a folder above it, so the command
    works from anywhere inside the repository (its root is the folder holding grading.toml)."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    raise ConfigError(
        f"no {CONFIG_NAME} in {here} or any folder above it: run the command inside the repository, "
        f"pass --config PATH/{CONFIG_NAME}, or set {CONFIG_ENV}=PATH/{CONFIG_NAME}"
    )


def load(path: Optional[Path] = None) -> Config:
    """Read and validate ``grading.toml`` (by default the one ``find`` finds); raises ConfigError
    naming the file and the fix."""
    path = Path(path if path is not None else find()).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found (pass --config PATH/{CONFIG_NAME}, or set {CONFIG_ENV}, to a grading.toml that exists)") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    allowed_top = {"defaults", "assignments"}
    for key in data:
        if key not in allowed_top:
            raise ConfigError(f"{path}: unknown top-level key {key!r}{_suggest(key, sorted(allowed_top))}")
    defaults = data.get("defaults", {})
    _check_keys(path, "[defaults]", defaults, {**_DEFAULT_KEYS, **_SUBMISSION_KEYS})
    if "submission_time_limit" in defaults:
        _positive(path, "[defaults]", "submission_time_limit", defaults["submission_time_limit"])
    merged_defaults = {**BUILTIN_DEFAULTS, **defaults}
    assignments = data.get("assignments", {})
    if not assignments:
        raise ConfigError(f"{path}: no [assignments.NAME] table")
    root = path.parent
    return Config(
        path=path,
        root=root,
        assignments=tuple(_assignment(path, root, n, t, merged_defaults) for n, t in assignments.items()),
    )


def describe_keys() -> str:
    """Every key with its meaning, for ``python -m autograder config --help``-style listings."""
    lines = ["[defaults] and per problem:"]
    lines += [f"  {k}: {m}" for k, (_, m) in _DEFAULT_KEYS.items()]
    lines += ["[defaults] and per assignment (for a whole submission):"] + [f"  {k}: {m}" for k, (_, m) in _SUBMISSION_KEYS.items()]
    lines += ["[assignments.NAME]:"] + [f"  {k}: {m}" for k, (_, m) in _ASSIGNMENT_KEYS.items()]
    lines += ["[[assignments.NAME.problems]]:"] + [f"  {k}: {m}" for k, (_, m) in _PROBLEM_KEYS.items()]
    return "\n".join(lines)

