"""The nbgrader course directory of one assignment, as file name -> bytes (``release/<a>/nbgrader/``).

- ``source/<a>/<a>.ipynb``: the instructor notebook, built from the same reference solutions as
  the ``.py`` route (no second copy of any solution): the README's introduction, then per source
  file its handout section, its code as given cells and answer cells (with the solution regions,
  which ``nbgrader generate_assignment`` turns into stubs), and one test cell per problem; last,
  the export cell that writes the upload file.
- ``grader/``: the grader of ``autograder.zip`` (package, hidden tests, solutions, grading.toml),
  which each test cell's hidden part runs. It is outside ``source/``, so nbgrader never releases it.
- ``nbgrader_config.py`` and ``README.md`` (the commands).

An assignment gets a notebook when it has handout sections (``assignments/<a>/handout/*.md``).
The build checks that the notebook's graded code is the reference module, statement for statement.
"""
from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Dict, List, Tuple

from autograder.config import Assignment, Config
from autograder.errors import AutograderError
from autograder.grade.engine import reference_source
from autograder.notebook import cells
from autograder.notebook.layout import Chunk, chunks
from autograder.notebook.visible import ProblemTests, VisibleTestError, problem_tests
from autograder.uploads.notebook import EXPORT_CELL_FILE, code_of

PACKAGE_DIR = Path(__file__).resolve().parent
GRADER_PREFIXES = ("autograder/", "assignments/", "solutions/")
GRADER_FILES = ("grading.toml", "ASSIGNMENT")
# What nbgrader puts in place of each solution region: with a message, so that the grader's
# failure ("... raised NotImplementedError: not written yet ...") is as clear as for a .py stub.
STUB = '# YOUR CODE HERE\nraise NotImplementedError("not written yet: replace this line with your code (see the handout)")'
_FILE_MENTION = re.compile(r"`([A-Za-z0-9_.-]+\.py)`")


class NotebookError(AutograderError):
    """The notebook cannot be built as asked; the message names the file and the fix."""


def has_notebook(config: Config, assignment: Assignment) -> bool:
    return any((config.root / "assignments" / assignment.id / "handout").glob("*.md"))


def notebook_name(assignment: Assignment) -> str:
    """Fixed by the build: the test cells and the export cell find the notebook by this name."""
    return f"{assignment.id}.ipynb"


def _time_budget(assignment: Assignment) -> float:
    """Seconds the first test cell may take: every problem's time limit, plus the grader's start."""
    return sum(p.limits.time_seconds for p in assignment.problems) + 120.0


def _module_text(path: Path) -> str:
    """A module that becomes a cell's code, as it is."""
    text = path.read_text(encoding="utf-8")
    if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.parse(text).body):
        raise NotebookError(f"{path}: a module that becomes a cell imports inside its functions only (its names would reach the student's kernel)")
    return text.strip("\n")


def _helpers(assignment: Assignment) -> str:
    """The helper cell: ``checks.py``, told which problem each graded name belongs to."""
    text = _module_text(PACKAGE_DIR / "checks.py")
    blank = "_VCK_PROBLEM_OF = {}"
    if text.count(blank) != 1:
        raise NotebookError(f"{PACKAGE_DIR / 'checks.py'}: expected one line starting {blank!r}, to fill in")
    problem_of = {symbol: p.id for p in assignment.problems for symbol in p.symbols}
    return text.replace(blank, f"_VCK_PROBLEM_OF = {problem_of!r}", 1)


def _intro(config: Config, assignment: Assignment) -> str:
    readme = config.root / "assignments" / assignment.id / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else f"# {assignment.title}\n"
    intro = re.split(r"^## ", text, maxsplit=1, flags=re.M)[0].rstrip()
    files = ", ".join(f"`{s}`" for s in assignment.sources)
    return f"""{intro}

## Working in this notebook

Run the cells from top to bottom. After each part's text come its files' code ({files}): cells that
say `# YOUR CODE HERE` are yours (replace the `raise NotImplementedError(...)` line with your code); the other
code cells are given and read-only. Do not rename the classes, functions or attributes the handout
names: the grader loads weights into them by name.

After each part's code, a test cell runs that problem's visible checks and explains any failure. They
are a start, not the grade: the hidden tests, run when you submit, check much more.

To submit, save the notebook, then run its last cell: it writes `{assignment.upload}` from your answer
cells and the given cells (not from cells you add). Upload that one file to Gradescope."""


def _handouts(config: Config, assignment: Assignment) -> Tuple[List[str], Dict[str, List[str]]]:
    """(sections before any code, sections by the source file they name first). A section whose
    first solution file is not one of this assignment's (a narrowed copy) is left out."""
    general: List[str] = []
    by_file: Dict[str, List[str]] = {name: [] for name in assignment.sources}
    for path in sorted((config.root / "assignments" / assignment.id / "handout").glob("*.md")):
        text = path.read_text(encoding="utf-8").strip()
        named = [m for m in _FILE_MENTION.findall(text) if (config.root / "solutions" / m).is_file()]
        if not named:
            general.append(text)
        elif named[0] in by_file:
            by_file[named[0]].append(text)
    return general, by_file


def _hidden_region(problem: str, timeout: float) -> str:
    return f"""### BEGIN HIDDEN TESTS
# The score: the Gradescope grader's checks of this problem, run (once per notebook) on the answer and
# given cells of the saved notebook, by the grader in grader/ next to nbgrader_config.py.
import pathlib as _pathlib
import sys as _sys
for _folder in (_pathlib.Path.cwd(), *_pathlib.Path.cwd().parents):
    if (_folder / "grader" / "autograder" / "notebook" / "kernel.py").is_file():
        break
else:
    raise FileNotFoundError(f"no grader/ folder (written by the build next to nbgrader_config.py) in {{_pathlib.Path.cwd()}} or above")
if str(_folder / "grader") not in _sys.path:
    _sys.path.insert(0, str(_folder / "grader"))
from autograder.notebook.kernel import problem_score
problem_score({problem!r}, timeout={timeout!r})
### END HIDDEN TESTS"""


def _test_cell(assignment: Assignment, problem_id: str, tests: ProblemTests) -> cells.Cell:
    """Visible part: the problem's visible tests, inside a function so that none of their names
    (imports included) reach the student's kernel; then the hidden part, which gives the score."""
    problem = assignment.problem(problem_id)
    head = (
        f"# {problem.title} ({problem.points:g} points): the visible checks. The hidden tests, run when you\n"
        f"# submit, check much more; editing this cell changes nothing in your grade."
    )
    maker = f"_visible_{problem.id}"
    code = "\n\n".join(tests.preambles + tests.sources)
    body = textwrap.indent(code, "    ") if code else "    pass"
    visible = (
        f"{head}\n\n\ndef {maker}():\n{body}\n\n    return [{', '.join(tests.names)}]\n\n\n"
        f"_visible_checks({problem.id!r}, {problem.title!r}, {list(problem.symbols)!r}, {maker}())"
    )
    return cells.test(f"test_{problem.id}", visible + "\n" + _hidden_region(problem.id, _time_budget(assignment)), problem.points)


def _code_cells(stem: str, parts: List[Chunk]) -> List[cells.Cell]:
    out: List[cells.Cell] = []
    for index, chunk in enumerate(parts, start=1):
        if chunk.solution:
            out.append(cells.answer(f"solution_{stem}_{index}", chunk.text))
        else:
            out.append(cells.given(f"given_{stem}_{index}", chunk.text))
    return out


def build_notebook(config: Config, assignment: Assignment) -> Dict:
    """The instructor notebook (nbformat v4 as a dict)."""
    siblings = [Path(s).stem for s in assignment.sources]
    files: Dict[str, List[Chunk]] = {}
    defined_in: Dict[str, str] = {}
    for name in assignment.sources:
        path = config.root / "solutions" / name
        files[name] = chunks(path.read_text(encoding="utf-8"), path, siblings)
        for chunk in files[name]:
            defined_in.update({n: Path(name).stem for n in chunk.names})
    placed: Dict[str, List[str]] = {name: [] for name in assignment.sources}
    for problem in assignment.problems:
        where = [s for s in assignment.sources if any(defined_in.get(sym) == Path(s).stem for sym in problem.symbols)]
        missing = [sym for sym in problem.symbols if sym not in defined_in]
        if missing or not where:
            raise NotebookError(
                f"{config.path}: problem {problem.id} names {', '.join(missing or problem.symbols)}, which no file of "
                f"sources ({', '.join(assignment.sources)}) defines at the top level: fix symbols or sources"
            )
        placed[where[-1]].append(problem.id)
    tests = problem_tests(config, assignment, defined_in)
    general, by_file = _handouts(config, assignment)
    out: List[cells.Cell] = [cells.markdown("intro", _intro(config, assignment))]
    out += [cells.markdown(f"handout-{i}", text) for i, text in enumerate(general, start=1)]
    out.append(cells.readonly("helpers", _helpers(assignment)))
    for name in assignment.sources:
        stem = Path(name).stem
        out += [cells.markdown(f"handout-{stem}-{i}", text) for i, text in enumerate(by_file[name], start=1)]
        out += _code_cells(stem, files[name])
        out += [_test_cell(assignment, pid, tests[pid]) for pid in placed[name]]
    table = "\n".join(f"| {p.title} | {p.points:g} |" for p in assignment.problems)
    out.append(cells.markdown("submit", (
        f"## Submitting\n\nSave the notebook (File > Save, or Ctrl-S), then run the cell below: it writes "
        f"`{assignment.upload}` next to this notebook. Upload that one file to Gradescope.\n\n"
        f"| problem | points |\n|---|---|\n{table}\n| total | {assignment.total_points:g} |"
    )))
    export = _module_text(EXPORT_CELL_FILE) + f"\n\n\n_nbx_export({notebook_name(assignment)!r}, {assignment.upload!r})"
    out.append(cells.readonly("export", export))
    settings = {"assignment": assignment.id, "modules": siblings, "upload": assignment.upload}
    return cells.notebook(out, settings)


def _statements(source: str) -> Tuple[List[str], List[str]]:
    """(sorted import statements, other statements in order) of a module, as AST dumps."""
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    imports = sorted({ast.dump(n) for n in body if isinstance(n, (ast.Import, ast.ImportFrom))})
    return imports, [ast.dump(n) for n in body if not isinstance(n, (ast.Import, ast.ImportFrom))]


def check_same_code(config: Config, assignment: Assignment, nb: Dict) -> None:
    """The notebook's graded code must be the reference module: same imports, same statements in order."""
    extracted = code_of(nb, notebook_name(assignment))
    code, notes = extracted.text, extracted.notes
    ref_imports, ref_body = _statements(reference_source(config, assignment))
    nb_imports, nb_body = _statements(code)
    if notes or ref_imports != nb_imports or ref_body != nb_body:
        first = next((i for i, (a, b) in enumerate(zip(ref_body, nb_body)) if a != b), min(len(ref_body), len(nb_body)))
        raise NotebookError(
            f"the notebook of {assignment.id} would not grade as the reference does (statement {first + 1} differs"
            f"{'; imports differ' if ref_imports != nb_imports else ''}{'; ' + '; '.join(notes) if notes else ''}): "
            "this is a bug of autograder/notebook/, not of solutions/"
        )


def _config_py(assignment: Assignment) -> str:
    return f'''"""nbgrader settings of this course directory, written by `python -m autograder build`: rebuild, do not edit.

Run nbgrader from this folder (see README.md). The test cells find the grader in grader/, next to
this file.
"""
c = get_config()  # noqa: F821 - nbgrader's config loader defines get_config
# The first test cell grades every problem once, each under its own time limit from grading.toml.
c.Execute.timeout = {int(_time_budget(assignment)) + 60}
# Each solution region becomes this stub in the students' notebook.
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
# Running the instructor notebook's export cell writes the reference solution as {assignment.upload}
# into source/{assignment.id}/: never copy it into the students' release (nor into autograded/).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", {assignment.upload!r}]
'''


def _readme(assignment: Assignment) -> str:
    a, nb = assignment.id, notebook_name(assignment)
    return f"""# {assignment.title}: the nbgrader course

Written by `python -m autograder build` from the reference solutions; rebuild rather than edit.
Run every command from this folder, with the project's `.venv/bin` first on `PATH` (nbgrader
runs `alembic` by name, and the notebook's kernel must be the project's Python: it runs the grader).

```bash
nbgrader generate_assignment {a}      # release/{a}/{nb}: answers become stubs, hidden tests removed
# students' notebooks go to submitted/<student>/{a}/{nb}
nbgrader autograde {a} --create       # runs each notebook; every test cell gets the grader's score
nbgrader export                        # grades.csv: one total per student
python -m autograder nbgrader-grades --course . --out problems.csv --config ../../../grading.toml
                                       # per-problem scores from gradebook.db, in the columns of `regrade`
```

Expected nbgrader warnings (the grades are right):
- `autograde` warns that the checksum of a grade cell `test_<problem>` changed, or that a locked
  cell changed, for a notebook whose test cell differs from the source: a student edited it, or
  the notebook was released without the hidden tests (`generate_assignment` removes them, so every
  released test cell differs from the source). nbgrader puts the source cell back before it runs
  the notebook, so the hidden tests always run and the student's edits count for nothing.
- `autograde` warns about missing or extra cells when a student deleted or added cells; the
  answer and test cells nbgrader knows are graded either way.
- The Jupyter kernel that `autograde` starts warns that it "is running over TCP without
  encryption": it listens on this machine's loopback only, for nbgrader's own connection.

- `source/{a}/{nb}`: the instructor notebook. Each problem's test cell runs the visible checks,
  then (hidden from students) asks `grader/` for the problem's score: the same checks and scores as
  a Gradescope upload of the same code. nbgrader restores the original test cells before grading.
- `grader/`: the Gradescope grader (as in `autograder.zip`). It is not under `source/`, so it is
  never released.
- Students submit the notebook here, or upload to Gradescope the `{assignment.upload}` that the
  notebook's last cell writes (or the `.ipynb` itself): the same code gets the same score.
"""


def course_files(config: Config, assignment: Assignment, grader_files: Dict[str, bytes]) -> Dict[str, bytes]:
    """Everything under ``release/<a>/nbgrader/``; ``grader_files`` are ``autograder.zip``'s files."""
    try:
        nb = build_notebook(config, assignment)
    except VisibleTestError as exc:
        raise NotebookError(str(exc)) from exc
    check_same_code(config, assignment, nb)
    files = {
        "nbgrader_config.py": _config_py(assignment).encode("utf-8"),
        "README.md": _readme(assignment).encode("utf-8"),
        f"source/{assignment.id}/{notebook_name(assignment)}": cells.dumps(nb),
    }
    for name, data in grader_files.items():
        if name.startswith(GRADER_PREFIXES) or name in GRADER_FILES:
            files[f"grader/{name}"] = data
    return files
