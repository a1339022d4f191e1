"""The body of a notebook's export cell: its answer and given cells, in order, as one Python module.

The same function writes the upload in the notebook's last cell and reads a notebook uploaded to
Gradescope, so a notebook and the file it exports always grade the same. This file is therefore
the body of that cell: standard library only, imported inside the functions, and every name
starts with ``_nbx_``, so that nothing clashes with the student's names in the kernel or stands in
for an import the student forgot (the upload would not have it). The rest of the package uses
these functions through the public names of ``autograder.uploads.notebook``.

Graded cells: answer cells (nbgrader ``solution`` cells, where students write) and the given-code
cells (``grade_id`` ``given_...``). Never the test cells, the helpers, this export cell, or cells
the student added (a note names what such a cell defines, since the upload will not have it). A
notebook without nbgrader metadata (not one of ours) gives all its code cells. IPython magics and
shell lines are dropped; imports of the assignment's own modules (notebook metadata
``autograder.modules``) are dropped, since everything is one module; ``from __future__`` imports
move to the top.
"""


class _NbxExportError(Exception):
    """A problem the student can fix; IPython shows only this message, without a traceback."""

    def _render_traceback_(self):
        return ["export failed: " + str(self)]


def _nbx_source(cell):
    text = cell.get("source", "")
    return "".join(str(part) for part in text) if isinstance(text, list) else str(text)


def _nbx_role(cell):
    """'answer', 'given', 'nbgrader' (test, helper or export cell) or 'other' (no nbgrader metadata)."""
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if not isinstance(nbgrader, dict):
        return "other"
    if nbgrader.get("solution") is True:
        return "answer"
    if str(nbgrader.get("grade_id", "")).startswith("given_") and nbgrader.get("grade") is not True:
        return "given"
    return "nbgrader"


def _nbx_ours(notebook):
    """Whether the notebook marks its cells for nbgrader (then only answer and given cells count)."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    return isinstance(cells, list) and any(isinstance(c, dict) and c.get("cell_type") == "code" and _nbx_role(c) != "other" for c in cells)


def _nbx_defines(text):
    """Top-level def/class names of ``text`` (empty when it is not valid Python)."""
    import ast

    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [node.name for node in body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _nbx_is_own_import(node, modules):
    import ast

    if isinstance(node, ast.ImportFrom):
        return bool(node.module) and not node.level and node.module.split(".")[0] in modules
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in modules for alias in node.names)
    return False


def _nbx_cell_code(text, modules, where, future, notes):
    """One cell as module code: magics dropped, own-module imports dropped, future imports moved."""
    import ast

    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        body = ast.parse("\n".join(lines)).body
    except SyntaxError as exc:
        shown = (exc.text or "").strip()
        notes.append(f"{where} has a syntax error at its line {exc.lineno}: {exc.msg}: {shown}")
        return "\n".join(lines)
    except (ValueError, RecursionError, MemoryError) as exc:
        notes.append(f"{where} cannot be read as Python ({type(exc).__name__})")
        return "\n".join(lines)
    drop = set()
    for node in body:
        span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            statement = "\n".join(lines[i - 1] for i in span)
            if statement not in future:
                future.append(statement)
            drop.update(span)
        elif _nbx_is_own_import(node, modules):
            drop.update(span)
    return "\n".join(line for number, line in enumerate(lines, start=1) if number not in drop)


def _nbx_plain(text):
    """``text`` fit for a comment or docstring of the written code: one line, no quote or backslash
    (a newline in a cell's ``grade_id`` would otherwise end the comment and start code)."""
    return "".join(c if c.isprintable() and c not in "\"\\" else "?" for c in str(text))[:80]


def _nbx_code(notebook, name):
    """(the module's text, notes for the student) of a parsed notebook; ValueError if it is not one."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{name} is not a Jupyter notebook (it has no list of cells)")
    code_cells = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    ours = _nbx_ours(notebook)
    metadata = notebook.get("metadata") if isinstance(notebook.get("metadata"), dict) else {}
    settings = metadata.get("autograder") if isinstance(metadata.get("autograder"), dict) else {}
    listed = settings.get("modules")  # written by the build; an edited notebook may hold anything
    modules = [m for m in listed if isinstance(m, str)] if isinstance(listed, list) else []
    future, parts, notes, ignored = [], [], [], []
    for cell in code_cells:
        role = _nbx_role(cell)
        text = _nbx_source(cell)
        if ours and role not in ("answer", "given"):
            if role == "other":
                ignored += _nbx_defines(text)
            continue
        grade_id = _nbx_plain(cell["metadata"]["nbgrader"].get("grade_id", "")) if role != "other" else ""
        names = ", ".join(_nbx_defines(text))
        label = f"{role} cell {grade_id}" if ours else "code cell"
        where = ("the " if ours else "a ") + label + (f" (defining {names})" if names else "")
        code = _nbx_cell_code(text, modules, where, future, notes).strip("\n")
        if code.strip():
            parts.append(f"# ---- {label} " + "-" * max(4, 70 - len(label)) + "\n\n" + code)
    if ignored:
        notes.append(
            f"{name}: {', '.join(ignored)} is defined in a cell you added, which is not exported or graded: "
            "only answer cells (marked YOUR CODE HERE) and given cells are. Move that code into an answer cell."
        )
    which = "answer and given" if ours else "code"
    head = f'"""Written from the notebook {_nbx_plain(name)}: its {which} cells, in order. Upload this file."""\n'
    return head + "".join(line + "\n" for line in future) + "\n\n" + "\n\n\n".join(parts) + "\n", notes


def _nbx_notebook_path(default_name):
    """The running notebook's file: Jupyter or VS Code say which; else ``default_name`` here."""
    import os
    from pathlib import Path

    here = Path.cwd()
    if not os.environ.get("NBGRADER_EXECUTION"):  # nbgrader runs the file named by the build
        for hint in (globals().get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
            if isinstance(hint, str) and hint.endswith(".ipynb"):
                for candidate in (Path(hint), here / Path(hint).name):
                    if candidate.is_file():
                        return candidate
    path = here / default_name
    if not path.is_file():
        raise _NbxExportError(
            f"there is no {default_name} in {here}: run this cell in the notebook {default_name}, "
            f"kept in the folder it came in (if you renamed it, name it {default_name} again)."
        )
    return path


def _nbx_unsaved(notebook):
    """Names whose answer cell on disk differs from what this kernel last ran (unsaved edits)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return []
    ran = [text.strip() for text in shell.history_manager.input_hist_raw if text.strip()]
    last_run = {}
    for text in ran:
        for defined in _nbx_defines(text):
            last_run[defined] = text
    stale = []
    for cell in notebook.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or _nbx_role(cell) != "answer":
            continue
        text = _nbx_source(cell).strip()
        if text and text not in ran:
            stale += [defined for defined in _nbx_defines(text) if defined in last_run]
    return stale


def _nbx_export(notebook_name, upload):
    """Write ``upload`` next to the notebook from its answer and given cells, as saved on disk."""
    import json

    path = _nbx_notebook_path(notebook_name)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _NbxExportError(f"cannot read {path}: {exc}") from None
    stale = _nbx_unsaved(notebook)
    if stale:
        raise _NbxExportError(
            f"the saved {path.name} is not what you last ran: the cell defining {', '.join(stale)} differs. "
            "Run that cell, save the notebook (File > Save, or Ctrl-S), then run this cell again."
        )
    code, notes = _nbx_code(notebook, path.name)
    target = path.parent / upload
    target.write_text(code, encoding="utf-8")
    for note in notes:
        print("note:", note)
    print(f"wrote {target}: upload this one file to Gradescope.")
