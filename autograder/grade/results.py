"""A ``Grade`` as Gradescope's ``results.json``: one test per check, tagged with its problem id.

Bounded whatever the submission printed or raised: each test's output is capped, and the whole
file is kept under ``MAX_RESULTS_BYTES`` by shortening outputs further if needed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from autograder.grade.engine import Grade

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


def _summary(grade: Grade) -> str:
    lines = [f"{grade.assignment.title}: {grade.score:g} / {grade.assignment.total_points:g} points."]
    lines += [f"- {p.problem.title}: {p.score:g} / {p.problem.points:g}" for p in grade.problems]
    hidden = [p.problem.title for p in grade.problems if p.problem.visibility != "visible"]
    if hidden:
        lines.append("Not shown yet (released later by course staff): " + ", ".join(hidden) + ".")
    else:
        lines.append("Every problem was graded now by the hidden tests; this is your score unless staff regrade.")
    if grade.notes:
        lines.append("")
        lines += [f"Note: {n}" for n in grade.notes]
    return "\n".join(lines)


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
                    "output": _cap(output, limit),
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
            "output": _cap(_summary(grade), limit),
            "output_format": "text",
            "test_output_format": "text",
            "stdout_visibility": "hidden",
            "tests": _tests(grade, limit),
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
