"""What is copied into the sandbox and runs there, next to the submission: ``child.py`` (the fork
server and its sessions), ``confine.py`` (seccomp, Landlock, process helpers), ``output.py`` (a
session's stdout and stderr, drained by the fork server), ``frames.py`` (the frames both sides
exchange and the exit statuses both know; no torch) and ``wire.py`` (the values inside frames).

These files import nothing from the ``autograder`` package: inside the sandbox they sit side by
side in one folder, with the Python installation and the submission, and nothing else. The
trusted side imports ``frames``, ``wire`` and ``confine`` from here; this ``__init__`` is not copied.
"""
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
# Every module of this folder but this file goes into the sandbox.
FILES = tuple(sorted(p.name for p in FOLDER.glob("*.py") if p.name != "__init__.py"))
