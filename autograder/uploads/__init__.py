"""Uploads: find and read what a student uploaded, notebooks included, without running any of it.

Below both ``grade`` (which grades what this finds) and ``notebook`` (the nbgrader course, whose
export cell is ``export_cell``): data flows one way, and this package imports neither. Standard
library only, since the notebook's kernel imports it.

- ``files``: an upload's files (one file, a folder, a zip), listed, then read within caps.
- ``source``: choose the file(s) to grade and check that they parse; ``read`` in this process.
- ``bounded``: ``resolve``, the same in a child process with memory and CPU limits (what the
  grader calls).
- ``export_cell``: a notebook's answer and given cells as one module (the export cell's body).
- ``notebook``: the same under public names.
"""
from autograder.uploads.bounded import UploadError, resolve
from autograder.uploads.files import MAX_ENTRIES, MAX_FILE_BYTES, MAX_TOTAL_BYTES, Unreadable
from autograder.uploads.source import BLOCKED_KINDS, EMPTY_OR_BINARY, SYNTAX_ERROR, WRONG_FILES, Upload, read

__all__ = [
    "BLOCKED_KINDS", "EMPTY_OR_BINARY", "MAX_ENTRIES", "MAX_FILE_BYTES", "MAX_TOTAL_BYTES", "SYNTAX_ERROR", "Unreadable", "Upload",
    "UploadError", "WRONG_FILES", "read", "resolve",
]
