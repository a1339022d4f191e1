"""Per-problem scores of an nbgrader course, in the regrade's CSV columns.

``nbgrader export`` writes one total per student and notebook; staff want what ``regrade`` gives,
one column per problem. Each problem's test cell is an nbgrader grade cell named
``test_<problem id>`` (see ``autograder/notebook/course.py``), so nbgrader's gradebook
(``gradebook.db``, read through nbgrader's own ``Gradebook`` API) holds every problem's score.

    python -m autograder nbgrader-grades --course release/hw3/nbgrader --out grades.csv
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from autograder.config import Assignment
from autograder.errors import AutograderError
from autograder.grade.outcome import GRADED
from autograder.staff.state import Outcome
from autograder.staff.submissions import Submitter
from autograder.uploads import EMPTY_OR_BINARY

GRADEBOOK = "gradebook.db"
CELL_PREFIX = "test_"


class GradebookError(AutograderError):
    """The course folder has no usable gradebook; the message says which command makes it."""


def outcomes(course: Path, assignment: Assignment, nbgrader_assignment: Optional[str] = None) -> List[Outcome]:
    """One outcome per student of the gradebook (sorted by id): per-problem scores of their
    autograded notebook, or an error row when they submitted nothing."""
    from nbgrader.api import Gradebook, MissingEntry

    database = Path(course) / GRADEBOOK
    if not database.is_file():
        raise GradebookError(f"{database}: not found; run `nbgrader autograde {assignment.id} --create` in {course} first")
    name = nbgrader_assignment or assignment.id
    found: List[Outcome] = []
    with Gradebook(f"sqlite:///{database}") as gradebook:
        try:
            graded = gradebook.find_assignment(name)
        except MissingEntry as exc:
            known = ", ".join(a.name for a in gradebook.assignments) or "none"
            raise GradebookError(f"{database}: no assignment {name!r} (it has: {known}); pass --nbgrader-assignment") from exc
        submitted = {s.student.id: s for s in graded.submissions}
        for student in gradebook.students:
            who = (Submitter(" ".join(p for p in (student.first_name, student.last_name) if p), student.email or "", student.id),)
            submission = submitted.get(student.id)
            if submission is None:
                found.append(Outcome(student.id, who, error="no submission in the gradebook", status=EMPTY_OR_BINARY))
                continue
            scores = {p.id: 0.0 for p in assignment.problems}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    problem = grade.name[len(CELL_PREFIX):] if grade.name.startswith(CELL_PREFIX) else None
                    if problem in scores:
                        scores[problem] += float(grade.score)
            found.append(Outcome(student.id, who, scores, round(sum(scores.values()), 6), status=GRADED))
    return sorted(found, key=lambda o: o.id)
