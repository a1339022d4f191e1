"""A notebook's gradable code, under public names: what the grader, the build and the kernel use.

The work is done by ``export_cell``, which is also, as it is, the body of the notebook's export
cell (hence its ``_nbx_`` names, which keep it out of the way of the student's names in the
kernel). Standard library only: ``autograder.notebook.kernel`` imports this in the student's
kernel.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List

from autograder.errors import AutograderError
from autograder.uploads import export_cell
from autograder.uploads.export_cell import _NbxExportError as ExportCellError  # what the cell raises

EXPORT_CELL_FILE = Path(export_cell.__file__)

__all__ = ["EXPORT_CELL_FILE", "ExportCellError", "NotebookCode", "NotebookUnreadable", "code_of", "find_notebook", "is_nbgrader", "parse"]


class NotebookUnreadable(AutograderError):
    """The bytes are not a Jupyter notebook (not JSON, or no list of cells)."""


@dataclass(frozen=True)
class NotebookCode:
    """The module a notebook submits, and notes for the student (cells that could not be read...)."""

    text: str
    notes: List[str] = field(default_factory=list)
    nbgrader: bool = False  # whether only answer and given cells were taken (a notebook of the build)


def parse(data: bytes, name: str) -> Any:
    """The notebook's JSON; ``NotebookUnreadable`` if it is not JSON at all."""
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise NotebookUnreadable(f"{name} is not a readable Jupyter notebook ({type(exc).__name__})") from None


def code_of(notebook: Any, name: str) -> NotebookCode:
    """The answer and given cells (or, in a notebook without nbgrader metadata, every code cell)."""
    try:
        text, notes = export_cell._nbx_code(notebook, name)
    except ValueError as exc:  # raised for a document without a list of cells
        raise NotebookUnreadable(str(exc)) from None
    return NotebookCode(text, notes, export_cell._nbx_ours(notebook))


def is_nbgrader(notebook: Any) -> bool:
    """Whether the notebook marks its cells for nbgrader (then only answer and given cells count)."""
    return bool(export_cell._nbx_ours(notebook))


def find_notebook(default_name: str) -> Path:
    """The running notebook's file (see ``export_cell._nbx_notebook_path``); ``ExportCellError`` if none."""
    return export_cell._nbx_notebook_path(default_name)

