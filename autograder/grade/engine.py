"""Grade one upload: problems → sandboxed sessions → check results. Never imports submission code.

Data flows one way: the config names the problems, the hidden-test modules give each problem's
checks, each problem runs in its own sandbox session, and the outcome is a ``Grade`` (plain
data) that ``results.py`` turns into Gradescope's ``results.json``.
"""
from __future__ import annotations

import ast
import dataclasses
import gc
import importlib.util
import sys
import time
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from autograder.assign.export import ExportError, merge, unfinished
from autograder.config import Assignment, Config, ConfigError, Problem
from autograder.grade.outcome import GRADED, NOT_ATTEMPTED, Grade, ProblemResult, all_fail
from autograder.sandbox import Isolation, Sandbox, choose_isolation, preload
from autograder.uploads import SYNTAX_ERROR, Upload, resolve

if TYPE_CHECKING:  # the checks import torch: see grade_uploads for when that happens
    from autograder.checking.registry import Check

GradeProblem = Callable[[Sandbox, str, Problem, List["Check"], ModuleType], ProblemResult]  # problem.grade_problem


# ---------------------------------------------------------------------------------------------
# The trusted inputs: reference module and hidden checks


def reference_source(config: Config, assignment: Assignment) -> str:
    files = [(name, (config.root / "solutions" / name).read_text(encoding="utf-8")) for name in assignment.sources]
    try:
        return merge(files, f"{assignment.upload}: the reference solution of {assignment.id} (staff only).")
    except ExportError as exc:  # a plain Exception: export.py is also the students' standalone script
        raise ConfigError(f"{config.path}: [assignments.{assignment.id}].sources: solutions/{exc}") from exc


@lru_cache(maxsize=None)
def _load_module(name: str, source: str, filename: str) -> ModuleType:
    module = ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def imported_modules(source: str) -> Tuple[str, ...]:
    """Top-level modules that ``source`` imports, in order (for the fork server to preload)."""
    names: List[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module != "__future__":
            names.append(node.module)
    return tuple(dict.fromkeys(names))


def reference_module(config: Config, assignment: Assignment) -> ModuleType:
    name = f"reference_{assignment.id.replace('-', '_')}"
    return _load_module(name, reference_source(config, assignment), f"<reference {assignment.id}>")


def hidden_files(config: Config, assignment: Assignment) -> List[Path]:
    """The assignment's hidden-test modules (``hidden`` globs under ``assignments/``), sorted, each once."""
    base = config.root / "assignments"
    found = {path for pattern in assignment.hidden for path in base.glob(pattern) if path.suffix == ".py"}
    return sorted(found)


def load_checks(config: Config, assignment: Assignment) -> Dict[str, List[Check]]:
    """Every check of the assignment by problem id; ids must match ``grading.toml`` both ways."""
    folder = config.root / "assignments"
    by_problem: Dict[str, List[Check]] = {p.id: [] for p in assignment.problems}
    listed = {p.id for p in config.assignment(assignment.id).problems}  # `assignment` may be a subset
    unknown: List[str] = []
    for path in hidden_files(config, assignment):
        name = "hidden_" + "_".join(path.relative_to(folder).with_suffix("").parts).replace("-", "_")
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"{path}: cannot be loaded as a module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        checks = getattr(module, "checks", None)
        if checks is None:
            continue
        for check in checks.items:
            if check.problem in by_problem:
                by_problem[check.problem].append(check)
            elif check.problem not in listed:
                unknown.append(f"{path.name}: {check.problem!r}")
    if unknown:
        raise ConfigError(f"{config.path}: hidden tests name problems that [assignments.{assignment.id}] does not list: {', '.join(unknown)}")
    untested = [pid for pid, found in by_problem.items() if not found]
    if untested:
        raise ConfigError(
            f"{folder}: no hidden checks (in {', '.join(assignment.hidden)}) for problem(s) {', '.join(untested)} listed in {config.path.name}"
        )
    return by_problem


def prepare(config: Config, assignment: Assignment) -> Tuple[Dict[str, List[Check]], ModuleType, GradeProblem]:
    """The torch side of grading, loaded once per process: the modules the reference imports (as
    the sandbox imports them, see ``preload``), the checks by problem, the reference module, and
    ``problem.grade_problem``. A regrade worker calls it before its first submission's clock starts."""
    preload.import_all(imported_modules(reference_source(config, assignment)))
    from autograder.grade import problem as run_problem

    run_problem.grader_threads()
    checks, ref = load_checks(config, assignment), reference_module(config, assignment)
    # What is imported now stays for the process's life: frozen, the garbage collector never
    # walks it again (torch's objects made each full collection cost about 0.3 s, and hypothesis
    # asks for one). Once per process: a later freeze (a regrade worker's next submission) would
    # also keep whatever garbage the last grading left, for good.
    if gc.get_freeze_count() == 0:
        gc.freeze()
    run_problem.warm_up()
    return checks, ref, run_problem.grade_problem


# ---------------------------------------------------------------------------------------------
# Running


# ---------------------------------------------------------------------------------------------
# The time budget of a whole submission (``submission_time_limit``): a submission that is slow at
# every import would otherwise take each problem's full time limit, one after the other, past
# Gradescope's own timeout, which scores 0 and says nothing.

MIN_SESSION_SECONDS = 1.0  # less than this left: not worth starting a session


def out_of_time(budget: float) -> str:
    return (
        f"not graded: the time budget for the whole submission ran out ({budget:g} s for all problems together). "
        "Usually your file does slow work when it is imported (training, downloads, sleeps), and that is repeated "
        "for every problem: put such code under `if __name__ == \"__main__\":`."
    )


def _grade_in_budget(
    grade_problem: GradeProblem, sandbox: Sandbox, name: str, problem: Problem, checks: List[Check], ref: ModuleType, ends: float, budget: float
) -> ProblemResult:
    """Grade ``problem`` in what is left of the submission's budget (which ``ends`` at that
    monotonic time): not at all when almost nothing is left, else with its time limit cut to
    what is left, so that results.json is written in time whatever the submission does."""
    left = ends - time.monotonic()
    if left < MIN_SESSION_SECONDS:
        return all_fail(problem, checks, out_of_time(budget))
    if left >= problem.limits.time_seconds:
        return grade_problem(sandbox, name, problem, checks, ref)
    cut = dataclasses.replace(problem, limits=dataclasses.replace(problem.limits, time_seconds=left))
    result = dataclasses.replace(grade_problem(sandbox, name, cut, checks, ref), problem=problem)
    if result.note and time.monotonic() >= ends:  # stopped by the cut deadline: say why it was cut
        why = (
            f"not graded to the end: the time budget for the whole submission ({budget:g} s for all problems together) "
            f"ran out while this problem was graded, so its time limit was cut to the {left:.1f} s that were left."
        )
        result = dataclasses.replace(result, note=why + "\n" + result.note)
    return result


def _blocked(assignment: Assignment, checks: Dict[str, List[Check]], upload: Upload) -> Optional[Grade]:
    """A Grade of zero with the reason, when there is nothing that can run."""
    blocker = upload.problem or upload.syntax_error
    if blocker is None:
        return None
    grade = Grade(assignment, [all_fail(p, checks[p.id], blocker) for p in assignment.problems], notes=upload.notes + [blocker])
    grade.status = upload.kind or SYNTAX_ERROR
    return grade


def mark_attempts(assignment: Assignment, source: str, grade: Grade) -> None:
    """Set ``unfinished`` (problems whose names still raise ``NotImplementedError``, as the stubs
    do: read from the source, not from messages) and ``status``: NOT_ATTEMPTED when nothing scored
    and every problem is unfinished, else GRADED."""
    grade.unfinished = unfinished(source, [(p.id, p.symbols) for p in assignment.problems])
    everything = len(grade.unfinished) == len(assignment.problems)
    grade.status = NOT_ATTEMPTED if grade.score == 0 and everything else GRADED


def grade_uploads(
    config: Config,
    assignment: Assignment,
    uploads: Dict[str, Upload],
    isolation: Optional[Isolation] = None,
    only: Optional[Dict[str, Sequence[str]]] = None,
) -> Dict[str, Grade]:
    """Grade several uploads of one trusted author in one sandbox (see ``Sandbox``); by label.

    ``only`` may narrow an upload to some problem ids (the corpus does, see ``grade/corpus.py``).
    """
    source = reference_source(config, assignment)
    runnable = {label: f"upload{i}.py" if len(uploads) > 1 else assignment.upload for i, label in enumerate(uploads)}
    runnable = {label: name for label, name in runnable.items() if uploads[label].problem is None and uploads[label].syntax_error is None}
    grades: Dict[str, Grade] = {}
    if not runnable:  # nothing can run: say why, without starting a sandbox
        checks, _, _ = prepare(config, assignment)
        return {label: _blocked(assignment, checks, upload) or Grade(assignment, []) for label, upload in uploads.items()}
    opened = time.monotonic()  # the first upload's budget counts the sandbox's start-up too
    isolation = isolation or choose_isolation()
    files = {name: uploads[label].source or "" for label, name in runnable.items()}
    # The sandbox starts first: its process imports torch while this one imports the torch side
    # of grading (two cores: at the same time).
    with Sandbox(files, isolation, imported_modules(source)) as sandbox:
        checks, ref, grade_problem = prepare(config, assignment)
        for label, upload in uploads.items():
            blocked = _blocked(assignment, checks, upload)
            if blocked is not None:
                grades[label] = blocked
                continue
            started = time.monotonic()
            ends = (opened if label == next(iter(runnable)) else started) + assignment.time_budget
            grade = Grade(assignment, [], notes=list(upload.notes), staff=[f"isolation: {sandbox.describe()}"])
            wanted = set(only[label]) if only and label in only else {p.id for p in assignment.problems}
            for problem in (p for p in assignment.problems if p.id in wanted):
                t0 = time.monotonic()
                grade.problems.append(_grade_in_budget(grade_problem, sandbox, runnable[label], problem, checks[problem.id], ref, ends, assignment.time_budget))
                grade.staff.append(f"{problem.id}: {grade.problems[-1].score:g}/{problem.points:g} in {time.monotonic() - t0:.2f} s")
            if any("the time budget for the whole submission" in p.note for p in grade.problems):
                grade.notes.append(f"the time budget for the whole submission ({assignment.time_budget:g} s) ran out: what was not reached in time was not graded.")
                grade.staff.append(f"time budget of {assignment.time_budget:g} s ran out")
            cut = sandbox.output_cut_mb(runnable[label])
            if cut is not None:  # printing is not a mistake: said once, costs nothing
                note = f"Your code printed more than {cut} MB while it was graded: the rest of its output was discarded (this costs no points)."
                grade.notes.append(note)
                grade.staff.append(note)
            grade.seconds = time.monotonic() - started
            mark_attempts(assignment, upload.source or "", grade)
            grades[label] = grade
    return grades


def grade_source(config: Config, assignment: Assignment, upload: Upload, isolation: Optional[Isolation] = None) -> Grade:
    started = time.monotonic()
    grade = grade_uploads(config, assignment, {"upload": upload}, isolation)["upload"]
    grade.seconds = time.monotonic() - started  # start-up of the sandbox included
    return grade


def grade_path(config: Config, assignment: Assignment, path: Path, isolation: Optional[Isolation] = None, staff_named: bool = False) -> Grade:
    """Grade the upload at ``path``; ``UploadError`` if there is none (see ``uploads.resolve``).
    ``staff_named``: ``path`` is a file that course staff named, so its name gets no note."""
    return grade_source(config, assignment, resolve(path, assignment.upload, assignment.sources, staff_named), isolation)
