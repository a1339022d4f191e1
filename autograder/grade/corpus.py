"""The mutant corpus: known-wrong and known-right variants, and the verdict each must get.

A corpus file ``<corpus>/<assignment>/bugs/<problem>__<slug>.py`` (or ``correct/...``) is
Python appended to the reference upload, redefining that problem's names. A bug must lose
points on its own problem and on no other; a correct variant must keep full marks everywhere.

A bug that needs a second, deliberate bug elsewhere (two mistakes that hide each other) names
the other problems on a line of its own, ``corpus: also wrong: <problem>[, <problem>...]``;
those must lose points too, and still no problem besides.
"""
from __future__ import annotations

import ast
import dataclasses
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from autograder.config import Assignment, Config
from autograder.grade.engine import Grade, grade_uploads, reference_source
from autograder.grade.upload import Upload
from autograder.sandbox import Isolation

KINDS = ("bugs", "correct")
ALSO_WRONG = re.compile(r"^\s*(?:#\s*)?corpus: also wrong:(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Variant:
    kind: str  # "bugs" or "correct"
    problem: str
    path: Path
    also: Tuple[str, ...] = ()  # other problems a bug deliberately breaks too

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.path.stem}"


@dataclass(frozen=True)
class Verdict:
    variant: Variant
    ok: bool
    scores: Dict[str, float]
    reason: str


def folder(config: Config, assignment: Assignment) -> Path:
    """The assignment's corpus: ``assignments/<a>/corpus/{bugs,correct}/``."""
    return config.root / "assignments" / assignment.id / "corpus"


def variants(corpus: Path, assignment: Assignment, problems: Optional[Sequence[str]] = None) -> List[Variant]:
    """The variants in ``corpus/{bugs,correct}/`` (an assignment's ``folder``), sorted."""
    found = []
    ids = {p.id for p in assignment.problems}
    for kind in KINDS:
        for path in sorted((corpus / kind).glob("*.py")):
            problem = path.stem.split("__", 1)[0]
            if problem not in ids:
                raise ValueError(f"{path}: the name should start with a problem id of {assignment.id} and '__' (one of {', '.join(sorted(ids))})")
            if problems is None or problem in problems:
                found.append(Variant(kind, problem, path, _also_wrong(path, kind, problem, ids)))
    return found


def _also_wrong(path: Path, kind: str, problem: str, ids: Set[str]) -> Tuple[str, ...]:
    """The problems named on a ``corpus: also wrong:`` line of ``path``, checked."""
    lines = ALSO_WRONG.findall(path.read_text(encoding="utf-8"))
    also = tuple(name.strip() for line in lines for name in line.split(",") if name.strip())
    if also and kind != "bugs":
        raise ValueError(f"{path}: 'corpus: also wrong:' belongs in bugs/, a correct variant breaks nothing")
    unknown = [name for name in also if name not in ids or name == problem]
    if unknown:
        raise ValueError(f"{path}: 'corpus: also wrong:' names {', '.join(unknown)}, but should name other problems of this assignment ({', '.join(sorted(ids - {problem}))})")
    return also


def upload_text(config: Config, assignment: Assignment, variant: Variant) -> str:
    return reference_source(config, assignment) + "\n\n# ---- corpus variant ----\n" + variant.path.read_text(encoding="utf-8")


def judge(variant: Variant, grade: Grade) -> Verdict:
    scores = grade.by_problem()
    full = {p.problem.id: p.problem.points for p in grade.problems}
    losing = {pid for pid in scores if scores[pid] < full[pid] - 1e-9}
    others = [pid for pid in scores if pid in losing and pid != variant.problem and pid not in variant.also]
    if variant.kind == "bugs":
        missed = [pid for pid in (variant.problem, *variant.also) if pid in scores and pid not in losing]
        ok = not missed and not others
        if variant.problem in missed:
            reason = "not caught on its own problem"
        elif missed:
            reason = f"not caught on {', '.join(missed)}, which its 'corpus: also wrong:' line names"
        else:
            reason = "" if ok else f"also charged to {', '.join(others)}"
    else:
        lost = [pid for pid in scores if scores[pid] < full[pid] - 1e-9]
        ok = not lost
        reason = "" if ok else f"a correct variant lost points on {', '.join(lost)}"
    return Verdict(variant, ok, scores, reason)


def _run_chunk(config_path: str, assignment_id: str, found: List[Variant], isolation_mode: str) -> List[Tuple[str, bool, Dict[str, float], str]]:
    """One worker's share (plain data in and out, for a process pool)."""
    from autograder import config as config_mod

    config = config_mod.load(Path(config_path))
    assignment = config.assignment(assignment_id)
    return [(v.variant.label, v.ok, v.scores, v.reason) for v in run(config, assignment, found, Isolation(isolation_mode))]


def run_parallel(config: Config, assignment: Assignment, found: List[Variant], isolation: Isolation, jobs: int) -> List[Verdict]:
    """``run`` split over ``jobs`` processes (each with its own sandbox); same verdicts, in order."""
    if jobs <= 1 or len(found) < 2:
        return run(config, assignment, found, isolation)
    chunks = [found[i::jobs] for i in range(jobs)]
    context = multiprocessing.get_context("spawn")  # no fork of a process that has run torch
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [
            pool.submit(_run_chunk, str(config.path), assignment.id, chunk, isolation.mode)  # a Variant is plain data
            for chunk in chunks
        ]
        done = {label: (ok, scores, reason) for future in futures for label, ok, scores, reason in future.result()}
    return [Verdict(v, done[v.label][0], done[v.label][1], done[v.label][2]) for v in found]


def _top_level_names(source: str) -> Dict[str, Set[str]]:
    """Each top-level function, class or assignment of ``source`` and the names its code uses."""
    uses: Dict[str, Set[str]] = {}
    for node in ast.parse(source).body:
        targets: List[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            found = node.targets if isinstance(node, ast.Assign) else [node.target]
            targets = [t.id for t in found if isinstance(t, ast.Name)]
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        for target in targets:
            uses.setdefault(target, set()).update(names)
    return uses


def _reachable(entry_points: Sequence[str], uses: Dict[str, Set[str]]) -> Set[str]:
    seen: Set[str] = set()
    stack = list(entry_points)
    while stack:
        name = stack.pop()
        if name in seen or name not in uses:
            continue
        seen.add(name)
        stack.extend(uses[name])
    return seen


def run(config: Config, assignment: Assignment, found: List[Variant], isolation: Optional[Isolation] = None, only_problems: bool = False) -> List[Verdict]:
    """Grade every variant and judge it.

    A variant is graded on its own problem and on every problem whose checks can run the names
    it redefines: the reference is graded first, recording which names each problem's checks
    call, and the code those names reach in the reference is followed. A problem that cannot
    reach a redefined name runs exactly the reference's code with the same seeds, so its score
    is the reference's: it is not graded again. ``only_problems`` narrows to the variants' own
    problems (for staff working on one problem).
    """
    if only_problems:
        wanted = {v.problem for v in found}
        assignment = dataclasses.replace(assignment, problems=tuple(p for p in assignment.problems if p.id in wanted))
    source = reference_source(config, assignment)
    uploads = {"reference": Upload(source)}
    reference = grade_uploads(config, assignment, uploads, isolation)["reference"]
    wrong = [p.problem.id for p in reference.problems if p.score < p.problem.points - 1e-9]
    if wrong:
        raise ValueError(f"the reference itself loses points on {', '.join(wrong)}: fix it before judging the corpus")
    uses = _top_level_names(source)
    reach = {p.problem.id: _reachable(p.entry_points, uses) for p in reference.problems}
    only: Dict[str, List[str]] = {}
    for v in found:
        defined = set(_top_level_names(v.path.read_text(encoding="utf-8")))
        only[v.label] = [pid for pid, names in reach.items() if pid == v.problem or names & defined]
    graded = grade_uploads(config, assignment, {v.label: Upload(upload_text(config, assignment, v)) for v in found}, isolation, only)
    verdicts = []
    for v in found:
        results = {r.problem.id: r for r in reference.problems}
        results.update({r.problem.id: r for r in graded[v.label].problems})
        grade = Grade(assignment, [results[p.id] for p in assignment.problems])
        verdicts.append(judge(v, grade))
    return verdicts
