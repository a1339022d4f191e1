"""Import the modules an assignment's code uses, once, the same way on both sides.

The fork server imports them before any session (so every session inherits them) and the grader
imports them before it loads the reference solution. One rule applies: a package whose import
pulls in a heavy optional dependency that no graded code uses is imported without it. NLTK imports
scipy.stats (for one collocation measure) and scikit-learn when they are installed: about a
second and 100 MB per process. The Gradescope image installs neither, so this is how NLTK behaves
there too; on a staff machine with scipy it keeps grading as fast and as it is graded there.

Like every file of this folder it runs on both sides and imports nothing from ``autograder``.
"""
from __future__ import annotations

import importlib
import sys
from typing import Dict, Iterable, List, Tuple

# Top-level package -> optional dependencies hidden from it while it is imported.
WITHOUT: Dict[str, Tuple[str, ...]] = {"nltk": ("scipy", "sklearn")}


def import_module(name: str) -> None:
    """Import ``name`` (ImportError if it cannot be), hiding its ``WITHOUT`` dependencies unless
    something imported them already: they stay importable for everything imported afterwards."""
    hidden = [dep for dep in WITHOUT.get(name.split(".")[0], ()) if dep not in sys.modules]
    for dep in hidden:
        sys.modules[dep] = None  # type: ignore[assignment]  # None: "import dep" raises ImportError
    try:
        importlib.import_module(name)
    finally:
        for dep in hidden:
            if sys.modules.get(dep, 0) is None:
                del sys.modules[dep]


def import_all(names: Iterable[str]) -> List[str]:
    """Import every module of ``names``; those that could not be imported."""
    failed = []
    for name in names:
        try:
            import_module(name)
        except Exception:  # noqa: BLE001 - a module missing here is the submission's to report
            failed.append(name)
    return failed
