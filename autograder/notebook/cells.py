"""nbformat v4 cells with nbgrader's metadata, and a notebook written the same way every time.

nbgrader (schema version 3) knows a cell by its ``grade_id``; the build names them by role, and
``autograder.uploads.export_cell`` relies on the names: ``given_<file>_<n>`` (read-only given code), ``solution_...``
(answer cells), ``test_<problem id>`` (graded, locked), ``helpers`` and ``export`` (read-only,
never graded or exported). No outputs, no execution counts, sorted keys, fixed cell ids.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

Cell = Dict[str, Any]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _lines(text: str) -> List[str]:
    return text.strip("\n").splitlines(keepends=True)


def _nbgrader(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False, points: Optional[float] = None) -> Dict[str, Any]:
    meta: Dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(cell_id: str, text: str) -> Cell:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": _lines(text)}


def _code(grade_id: str, text: str, metadata: Dict[str, Any]) -> Cell:
    return {"cell_type": "code", "execution_count": None, "id": grade_id.replace("_", "-"), "metadata": metadata, "outputs": [], "source": _lines(text)}


def given(grade_id: str, text: str) -> Cell:
    """Code students read but do not change (nbgrader locks it)."""
    return _code(grade_id, text, _nbgrader(grade_id, locked=True))


def answer(grade_id: str, text: str) -> Cell:
    """A solution cell: nbgrader turns each ``### BEGIN/END SOLUTION`` region into a stub."""
    return _code(grade_id, text, _nbgrader(grade_id, solution=True))


def test(grade_id: str, text: str, points: float) -> Cell:
    """A locked autograder cell worth ``points``; its output number is the partial credit."""
    return _code(grade_id, text, _nbgrader(grade_id, grade=True, locked=True, points=points))


def readonly(grade_id: str, text: str) -> Cell:
    """Locked machinery (helpers, export): neither graded nor part of the upload."""
    return _code(grade_id, text, _nbgrader(grade_id, locked=True))


def notebook(cells: List[Cell], settings: Dict[str, Any]) -> Dict[str, Any]:
    """``settings`` go to the notebook metadata under ``autograder`` (``autograder.uploads.export_cell`` reads ``modules``)."""
    metadata = {
        "autograder": settings,
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def dumps(nb: Dict[str, Any]) -> bytes:
    """Jupyter's own layout (one-space indent), keys sorted: the same notebook gives the same bytes."""
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
