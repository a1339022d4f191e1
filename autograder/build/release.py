"""``build``: stubs, student bundle, Gradescope zip and staff reference, proven before written.

Steps, in order (each takes the previous one's output; nothing is written until all pass):
1. ``stubs``: every solution file → its stub (regions → ``NotImplementedError``).
2. ``bundle``: the student files in memory (stubs, visible tests, README, export script).
3. ``prove``: the reference scores full marks, the merged stubs score zero, and no solution line
   appears in any student file. Any failure raises ``BuildError`` and nothing is written.
4. ``write``: ``release/<assignment>/`` with deterministic zips (sorted names, fixed times and
   modes), so the same tree gives byte-identical files.
"""
from __future__ import annotations

import io
import logging
import re
import shutil
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from autograder.assign.export import ExportError, merge
from autograder.assign.markers import make_stub, solution_lines
from autograder.config import Assignment, Config
from autograder.errors import AutograderError
from autograder.grade.engine import grade_uploads, hidden_files, reference_source
from autograder.grade.outcome import Grade
from autograder.notebook.course import NotebookError, course_files, has_notebook
from autograder.sandbox import Isolation
from autograder.staff.mutate.record import proof_column
from autograder.uploads import Upload

LOG = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).resolve().parent.parent
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
EXECUTABLE = {"setup.sh", "run_autograder"}
LEAK_SUBSTRING_CHARS = 24  # solution lines at least this long are also caught inside other lines


class BuildError(AutograderError):
    """The release would be wrong; nothing was written. The message says what and where."""


@dataclass
class Release:
    """Everything ``build`` writes for one assignment, as path → bytes."""

    assignment: Assignment
    student: Dict[str, bytes] = field(default_factory=dict)
    autograder: Dict[str, bytes] = field(default_factory=dict)
    reference: str = ""
    stub_upload: str = ""
    proof: List[Grade] = field(default_factory=list)
    nbgrader: Dict[str, bytes] = field(default_factory=dict)  # the nbgrader course directory, if any
    mutation: Dict[str, str] = field(default_factory=dict)  # per problem: the last `mutate` run's score, or "stale: ..."


def stubs(config: Config, assignment: Assignment) -> Dict[str, str]:
    by_symbol = {s: p.id for p in assignment.problems for s in p.symbols}
    out = {}
    for name in assignment.sources:
        path = config.root / "solutions" / name
        out[name] = make_stub(path.read_text(encoding="utf-8"), path, by_symbol)
    return out


def export_script(assignment: Assignment) -> str:
    text = (PACKAGE_DIR / "assign" / "export.py").read_text(encoding="utf-8")
    text = text.replace("SOURCES: Tuple[str, ...] = ()", f"SOURCES: Tuple[str, ...] = {tuple(assignment.sources)!r}", 1)
    text = text.replace('UPLOAD = "my_llm_implementation.py"', f"UPLOAD = {assignment.upload!r}", 1)
    problems = tuple((p.title, tuple(p.symbols)) for p in assignment.problems)
    return text.replace("PROBLEMS: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()", f"PROBLEMS: Tuple[Tuple[str, Tuple[str, ...]], ...] = {problems!r}", 1)


def _student_readme(config: Config, assignment: Assignment) -> str:
    folder = config.root / "assignments" / assignment.id
    intro = (folder / "README.md").read_text(encoding="utf-8") if (folder / "README.md").is_file() else f"# {assignment.title}\n"
    parts = [intro.rstrip()]
    for section in sorted((folder / "handout").glob("*.md")):
        parts.append(section.read_text(encoding="utf-8").rstrip())
    points = "\n".join(f"| {p.title} | {p.points:g} |" for p in assignment.problems)
    parts.append(f"## Points\n\n| problem | points |\n|---|---|\n{points}\n| total | {assignment.total_points:g} |")
    return "\n\n".join(parts) + "\n"


def bundle(config: Config, assignment: Assignment, stub_files: Dict[str, str]) -> Dict[str, bytes]:
    folder = config.root / "assignments" / assignment.id
    files: Dict[str, str] = dict(stub_files)
    files["export_submission.py"] = export_script(assignment)
    files["README.md"] = _student_readme(config, assignment)
    files["pytest.ini"] = "[pytest]\npythonpath = .\ntestpaths = tests\naddopts = -q\n"
    for test in sorted((folder / "visible").glob("*.py")):
        files[f"tests/{test.name}"] = test.read_text(encoding="utf-8")
    for extra in sorted(folder.glob("*.py")):
        files[extra.name] = extra.read_text(encoding="utf-8")
    requirements = folder / "requirements.txt"
    if requirements.is_file():
        files["requirements.txt"] = requirements.read_text(encoding="utf-8")
    return {name: text.encode("utf-8") for name, text in files.items()}


def _leaks(config: Config, assignment: Assignment, student: Dict[str, bytes]) -> List[str]:
    found = []
    for name in assignment.sources:
        path = config.root / "solutions" / name
        secret = set(solution_lines(path.read_text(encoding="utf-8"), path))
        # Long solution lines are also found inside other lines (a comment, a hint, a string);
        # short ones only as whole lines, since `return x` may well stand in given code too.
        long_lines = [line for line in secret if len(line) >= LEAK_SUBSTRING_CHARS]
        for file_name, data in student.items():
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
                text = line.strip()
                hit = text if text in secret else next((s for s in long_lines if s in text), None)
                if hit is not None:
                    found.append(f"release {file_name}:{number} repeats a solution line of solutions/{name}: {hit!r}")
    return found


def prove(config: Config, release: Release, isolation: Optional[Isolation] = None) -> None:
    """Refuse the release unless reference = full marks, stubs = zero, and nothing leaks."""
    assignment = release.assignment
    problems: List[str] = []
    graded = grade_uploads(config, assignment, {"reference": Upload(release.reference), "stubs": Upload(release.stub_upload)}, isolation)
    reference, blank = graded["reference"], graded["stubs"]
    for result in reference.problems:
        if abs(result.score - result.problem.points) > 1e-6:
            failed = [f"{c.name}: {c.message or result.note}" for c in result.checks if not c.passed]
            problems.append(f"the reference scores {result.score:g}/{result.problem.points:g} on {result.problem.id}: " + "; ".join(failed)[:1500])
    for result in blank.problems:
        if result.score != 0:
            passed = [c.name for c in result.checks if c.passed]
            problems.append(f"the untouched stubs score {result.score:g} on {result.problem.id} (it must be 0); passing: {'; '.join(passed)}")
    problems += _leaks(config, assignment, release.student)
    release.proof = [reference, blank]
    if problems:
        raise BuildError(f"refusing to build {assignment.id}:\n- " + "\n- ".join(problems))


_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def single_assignment_toml(config: Config, assignment: Assignment) -> bytes:
    """``grading.toml`` cut down to ``[defaults]`` and this assignment's tables.

    The autograder zip holds only this assignment's solution files, and loading a config checks
    every assignment's ``sources``: the whole file would not load there. Comments and blank lines
    go with the table that follows them. The result is checked to parse to the same tables.
    """
    keep = {"defaults", f"assignments.{assignment.id}", f"assignments.{assignment.id}.problems"}
    out: List[str] = []
    pending: List[str] = []  # comments and blank lines, kept only if the next table is
    current: Optional[str] = None  # the table the lines belong to (None: before any table)
    for line in config.path.read_text(encoding="utf-8").splitlines():
        header = _TABLE.match(line)
        if header:
            current = header.group(1).replace('"', "").replace(" ", "")
            if current in keep:
                out += pending + [line]
            pending = []
        elif not line.strip() or line.lstrip().startswith("#"):
            pending.append(line)
        elif current is None or current in keep:
            out += pending + [line]
            pending = []
        else:
            pending = []
    text = "\n".join(out).rstrip("\n") + "\n"
    whole, cut = tomllib.loads(config.path.read_text(encoding="utf-8")), tomllib.loads(text)
    same = cut.get("defaults") == whole.get("defaults") and cut.get("assignments") == {assignment.id: whole["assignments"][assignment.id]}
    if not same:
        raise BuildError(f"{config.path}: could not cut out the tables of {assignment.id} for its autograder zip; keep one [assignments.NAME] table per assignment, with its problems after it")
    return text.encode("utf-8")


def _autograder_files(config: Config, assignment: Assignment) -> Dict[str, bytes]:
    files: Dict[str, bytes] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        files[f"autograder/{path.relative_to(PACKAGE_DIR).as_posix()}"] = path.read_bytes()
    for path in hidden_files(config, assignment):
        files[f"assignments/{path.relative_to(config.root / 'assignments').as_posix()}"] = path.read_bytes()
    for name in assignment.sources:
        files[f"solutions/{name}"] = (config.root / "solutions" / name).read_bytes()
    files["grading.toml"] = single_assignment_toml(config, assignment)
    gradescope = PACKAGE_DIR / "build" / "gradescope"
    for name in ("setup.sh", "run_autograder"):
        files[name] = (gradescope / name).read_bytes()
    files["requirements.txt"] = (config.root / "requirements" / "grader.txt").read_bytes()
    files["ASSIGNMENT"] = f"{assignment.id}\n".encode()
    return files


def deterministic_zip(files: Dict[str, bytes]) -> bytes:
    """Sorted names, fixed timestamps and modes: the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if Path(name).name in EXECUTABLE else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            archive.writestr(info, files[name])
    return buffer.getvalue()


def make_release(config: Config, assignment: Assignment) -> Release:
    stub_files = stubs(config, assignment)
    release = Release(assignment)
    release.reference = reference_source(config, assignment)
    try:
        release.stub_upload = merge(list(stub_files.items()), f"{assignment.upload}: the untouched stubs.")
    except ExportError as exc:  # a plain Exception: export.py is also the students' standalone script
        raise BuildError(f"refusing to build {assignment.id}: the stubs do not merge: {exc}") from exc
    release.student = bundle(config, assignment, stub_files)
    release.autograder = _autograder_files(config, assignment)
    if has_notebook(config, assignment):
        try:
            release.nbgrader = course_files(config, assignment, release.autograder)
        except NotebookError as exc:
            raise BuildError(f"refusing to build {assignment.id}: {exc}") from exc
    return release


def write(release: Release, out_dir: Path) -> Path:
    target = out_dir / release.assignment.id
    staging = out_dir / f".{release.assignment.id}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "student").mkdir(parents=True)
    for name, data in release.student.items():
        path = staging / "student" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (staging / "student.zip").write_bytes(deterministic_zip(release.student))
    (staging / "autograder.zip").write_bytes(deterministic_zip(release.autograder))
    (staging / "reference").mkdir()
    (staging / "reference" / release.assignment.upload).write_text(release.reference, encoding="utf-8")
    for name, data in release.nbgrader.items():
        path = staging / "nbgrader" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if target.exists():
        shutil.rmtree(target)
    staging.replace(target)
    return target


def build(config: Config, out_dir: Path, names: Optional[List[str]] = None, isolation: Optional[Isolation] = None) -> List[Release]:
    """Build (and prove) every named assignment; nothing is written unless all of them pass."""
    chosen = [config.assignment(n) for n in names] if names else list(config.assignments)
    releases = []
    for assignment in chosen:
        release = make_release(config, assignment)
        prove(config, release, isolation)
        release.mutation = proof_column(config, assignment)
        releases.append(release)
    for release in releases:
        write(release, out_dir)
    return releases
