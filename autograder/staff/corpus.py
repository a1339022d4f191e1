"""The mutant corpus: known-wrong and known-right variants, and the verdict each must get (staff QA).

A corpus file ``assignments/<a>/corpus/bugs/<problem>__<slug>.py`` (or ``correct/...``) is
Python appended to the reference upload, redefining that problem's names. A bug must lose
points on its own problem and on no other; a correct variant must keep full marks everywhere.

A bug that needs a second, deliberate bug elsewhere (two mistakes that hide each other) names
the other problems on a line of its own, ``corpus: also wrong: <problem>[, <problem>...]``;
those must lose points too, and still no problem besides.

Variants are graded in parallel by the regrade's worker pool (``pool``): one task per share of
the variants, each share in one sandbox of its own.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from autograder.config import Assignment, Config
from autograder.errors import AutograderError
from autograder.grade.engine import grade_uploads, reference_source
from autograder.grade.outcome import Grade, ProblemResult
from autograder.sandbox import START_TIMEOUT, Isolation, choose_isolation
from autograder.staff.pool import Failure, Pool
from autograder.uploads import Upload

KINDS = ("bugs", "correct")
ALSO_WRONG = re.compile(r"^\s*(?:#\s*)?corpus: also wrong:(.*)$", re.MULTILINE)
PER_PROBLEM_ALLOWANCE = 10.0  # seconds beyond a problem's time limit before a share is stopped


class CorpusError(AutograderError):
    """A corpus file is misnamed or mislabelled, or the reference itself loses points."""


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
                raise CorpusError(f"{path}: the name should start with a problem id of {assignment.id} and '__' (one of {', '.join(sorted(ids))})")
            if problems is None or problem in problems:
                found.append(Variant(kind, problem, path, _also_wrong(path, kind, problem, ids)))
    return found


def _also_wrong(path: Path, kind: str, problem: str, ids: Set[str]) -> Tuple[str, ...]:
    """The problems named on a ``corpus: also wrong:`` line of ``path``, checked."""
    lines = ALSO_WRONG.findall(path.read_text(encoding="utf-8"))
    also = tuple(name.strip() for line in lines for name in line.split(",") if name.strip())
    if also and kind != "bugs":
        raise CorpusError(f"{path}: 'corpus: also wrong:' belongs in bugs/, a correct variant breaks nothing")
    unknown = [name for name in also if name not in ids or name == problem]
    if unknown:
        raise CorpusError(f"{path}: 'corpus: also wrong:' names {', '.join(unknown)}, but should name other problems of this assignment ({', '.join(sorted(ids - {problem}))})")
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


def _grade_share(config: Config, assignment: Assignment, isolation: Isolation, share: Dict[str, Any]) -> Dict[str, List[ProblemResult]]:
    """Grade one share of the variants in one sandbox: ``share`` is {"uploads": {label: source},
    "only": {label: problem ids}}; the results by label."""
    uploads = {label: Upload(source) for label, source in share["uploads"].items()}
    graded = grade_uploads(config, assignment, uploads, isolation, share["only"])
    return {label: grade.problems for label, grade in graded.items()}


def grader(init: Dict[str, Any]) -> Callable[[Dict[str, Any]], Dict[str, List[ProblemResult]]]:
    """The pool worker's handler (see ``staff.pool``): load the set-up once, then grade shares."""
    from autograder import config as config_mod

    config = config_mod.load(Path(init["config"]))
    assignment = config.assignment(init["assignment"])
    isolation = Isolation(init["isolation"])
    return lambda share: _grade_share(config, assignment, isolation, share)


def _cap(assignment: Assignment, only: Dict[str, List[str]]) -> float:
    """Seconds after which one share is stopped: every problem it grades may use its whole limit."""
    limits = {p.id: p.limits.time_seconds for p in assignment.problems}
    return 2 * START_TIMEOUT + sum(limits[pid] + PER_PROBLEM_ALLOWANCE for ids in only.values() for pid in ids)


def _grade_shares(
    config: Config, assignment: Assignment, shares: List[Dict[str, Any]], isolation: Isolation, jobs: int
) -> Dict[str, Union[List[ProblemResult], Failure]]:
    """Every share's results by label: in this process for one job, else by the worker pool."""
    done: Dict[str, Union[List[ProblemResult], Failure]] = {}
    if jobs <= 1 or len(shares) <= 1:
        for share in shares:
            done.update(_grade_share(config, assignment, isolation, share))
        return done

    def finished(key: str, value: Any) -> None:
        share = shares[int(key)]
        done.update({label: value for label in share["uploads"]} if isinstance(value, Failure) else value)

    init = {"config": str(config.path), "assignment": assignment.id, "isolation": isolation.mode}
    cap = max(_cap(assignment, share["only"]) for share in shares)
    Pool("autograder.staff.corpus:grader", init, jobs, cap).run([(str(i), share) for i, share in enumerate(shares)], finished)
    return done


def run(
    config: Config,
    assignment: Assignment,
    found: List[Variant],
    isolation: Optional[Isolation] = None,
    jobs: int = 1,
    problems: Optional[Sequence[str]] = None,
) -> List[Verdict]:
    """Grade every variant and judge it; the verdicts in the order of ``found``.

    A variant is graded on its own problem and on every problem whose checks can run the names
    it redefines: the reference is graded first, recording which names each problem's checks
    call, and the code those names reach in the reference is followed. A problem that cannot
    reach a redefined name runs exactly the reference's code with the same seeds, so its score
    is the reference's: it is not graded again. ``problems`` narrows all grading (the
    reference's too) to those problem ids, for staff working on some problems; ``jobs`` shares
    the variants out to that many worker processes, each with a sandbox of its own.
    """
    isolation = isolation or choose_isolation()
    wanted = [p.id for p in assignment.problems if problems is None or p.id in problems]
    source = reference_source(config, assignment)
    reference = grade_uploads(config, assignment, {"reference": Upload(source)}, isolation, {"reference": wanted})["reference"]
    wrong = [p.problem.id for p in reference.problems if p.score < p.problem.points - 1e-9]
    if wrong:
        raise CorpusError(f"the reference itself loses points on {', '.join(wrong)}: fix it before judging the corpus")
    uses = _top_level_names(source)
    reach = {p.problem.id: _reachable(p.entry_points, uses) for p in reference.problems}
    only: Dict[str, List[str]] = {}
    for v in found:
        defined = set(_top_level_names(v.path.read_text(encoding="utf-8")))
        only[v.label] = [pid for pid, names in reach.items() if pid == v.problem or names & defined]
    count = max(1, min(jobs, len(found)))
    shares = [
        {"uploads": {v.label: upload_text(config, assignment, v) for v in part}, "only": {v.label: only[v.label] for v in part}}
        for part in (found[i::count] for i in range(count))
        if part
    ]
    graded = _grade_shares(config, assignment, shares, isolation, jobs)
    verdicts = []
    for v in found:
        results = {r.problem.id: r for r in reference.problems}
        outcome = graded[v.label]
        if isinstance(outcome, Failure):
            verdicts.append(Verdict(v, False, {}, f"not graded: {outcome.reason}"))
            continue
        results.update({r.problem.id: r for r in outcome})
        grade = Grade(assignment, [results[pid] for pid in wanted])
        verdicts.append(judge(v, grade))
    return verdicts
