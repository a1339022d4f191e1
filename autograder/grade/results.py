"""A ``Grade`` as Gradescope's ``results.json``: one test per check, tagged with its problem id.

Bounded whatever the submission printed or raised: each test's output is capped, and the whole
file is kept under ``MAX_RESULTS_BYTES`` by shortening outputs further if needed. Every output is
also shown with its control characters escaped (``safe_text.multi_line``): what the submission
printed may hold terminal escapes.

Visibility (Gradescope's own): the top-level ``output`` is always shown to students, so it lists
only the scores of ``visible`` problems and says when the others are shown: ``after_due_date``
after the (late) due date, ``after_published`` when staff publish grades, ``hidden`` never. The
top-level ``score`` stays the true total (it is what Gradescope records), but students see the
total unless some test is ``hidden``; so when any problem is not visible, one 0-point ``hidden``
test is added, which makes Gradescope withhold the total from students, since the total would
reveal those problems' scores.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from autograder.grade.outcome import Grade
from autograder.safe_text import multi_line

MAX_OUTPUT_CHARS = 4000
MAX_RESULTS_BYTES = 500_000
INTERNAL_ERROR = (
    "The autograder itself failed while grading this submission; it is not your fault and your "
    "submission was not graded. Course staff can see the details: please let them know."
)


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 60] + f"\n... [{len(text) - limit + 60} more characters cut]"


# When students see a problem's tests, in Gradescope's terms (per test ``visibility``).
SHOWN = {
    "after_due_date": "shown to you after the due date (after the late due date, if late submissions are allowed)",
    "after_published": "shown to you when course staff publish the grades",
    "hidden": "never shown to students (course staff see them)",
}
WITHHELD_TOTAL = "Total score (withheld from students: it would reveal problems not shown yet)"


def _summary(grade: Grade) -> str:
    """The top-level text, which students always see: scores of visible problems only."""
    shown = [p for p in grade.problems if p.problem.visibility == "visible"]
    later = [p for p in grade.problems if p.problem.visibility != "visible"]
    rows = [f"- {p.problem.title}: {p.score:g} / {p.problem.points:g}" for p in shown]
    if not later:
        lines = [f"{grade.assignment.title}: {grade.score:g} / {grade.assignment.total_points:g} points."] + rows
        lines.append("Every problem was graded now by the hidden tests; this is your score unless staff regrade.")
    else:
        points = sum(p.problem.points for p in shown)
        score = round(sum(p.score for p in shown), 6)
        if shown:
            lines = [f"{grade.assignment.title}: {score:g} / {points:g} points on the problems shown now."] + rows
            lines.append("Also graded now, with results not shown here:")
        else:
            lines = [f"{grade.assignment.title}: graded now, with results not shown here:"]
        lines += [f"- {p.problem.title} ({p.problem.points:g} points): {SHOWN[p.problem.visibility]}." for p in later]
        lines.append("Your total score is not shown to you, since it would reveal those results.")
    if grade.notes:
        lines.append("")
        lines += [f"Note: {n}" for n in grade.notes]
    return "\n".join(lines)


def _withheld_total(grade: Grade) -> List[Dict[str, Any]]:
    """The 0-point hidden test that makes Gradescope hide the total, when any problem is not visible."""
    later = [p.problem.id for p in grade.problems if p.problem.visibility != "visible"]
    if not later:
        return []
    text = (
        f"Staff only. Problems not visible to students now: {', '.join(later)}. This 0-point hidden test makes "
        "Gradescope withhold the total score from students, which would reveal their scores."
    )
    return [
        {
            "name": WITHHELD_TOTAL,
            "number": f"{len(grade.problems) + 1}",
            "score": 0,
            "max_score": 0,
            "status": "passed",
            "output": text,
            "output_format": "text",
            "tags": ["total"],
            "visibility": "hidden",
        }
    ]


def _tests(grade: Grade, limit: int) -> List[Dict[str, Any]]:
    tests = []
    for p_index, result in enumerate(grade.problems, start=1):
        for c_index, check in enumerate(result.checks, start=1):
            if check.passed:
                output = "Passed."
            else:
                output = check.message or result.note or "Failed."
                if result.note and check.message and result.note not in check.message:
                    output = result.note + "\n" + check.message
            tests.append(
                {
                    "name": f"{result.problem.title}: {check.name}",
                    "number": f"{p_index}.{c_index}",
                    "score": round(check.score, 4),
                    "max_score": round(check.max_score, 4),
                    "status": "passed" if check.passed else "failed",
                    "output": _cap(multi_line(output), limit),
                    "output_format": "text",
                    "tags": [result.problem.id],
                    "visibility": result.problem.visibility,
                }
            )
    return tests


def to_results(grade: Grade) -> Dict[str, Any]:
    limit = MAX_OUTPUT_CHARS
    while True:
        results = {
            "score": round(grade.score, 4),
            "execution_time": round(grade.seconds, 3),
            "output": _cap(multi_line(_summary(grade)), limit),
            "output_format": "text",
            "test_output_format": "text",
            "stdout_visibility": "hidden",
            "tests": _tests(grade, limit) + _withheld_total(grade),
        }
        if len(json.dumps(results)) <= MAX_RESULTS_BYTES or limit <= 200:
            return results
        limit //= 2


def internal_error_results() -> Dict[str, Any]:
    return {"score": 0, "output": INTERNAL_ERROR, "output_format": "text", "tests": [], "stdout_visibility": "hidden"}


def write(results: Dict[str, Any], path: Path) -> None:
    """Write the whole file at once (to a temporary name, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)
