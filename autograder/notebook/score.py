"""``python -m autograder.notebook.score NOTEBOOK --config grading.toml --assignment A --out OUT.json``

What a test cell's hidden part runs (via ``kernel``), in its own process: the Gradescope route's
``grade_path`` on the notebook file (so its answer and given cells, read by ``autograder.uploads.notebook``), and the
exact per-problem scores plus each check's Gradescope test entry, as JSON in ``OUT.json``. Exact,
because ``results.json`` rounds every check to 4 decimals and the sum of those need not be the
problem's score. Run in a subprocess, the grader never shares a process with the student's kernel.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from autograder import config as config_mod
from autograder.grade.engine import grade_path
from autograder.grade.results import to_results
from autograder.sandbox import choose_isolation


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.notebook.score", description=__doc__)
    parser.add_argument("notebook")
    parser.add_argument("--config", required=True)
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cfg = config_mod.load(Path(args.config))
    assignment = cfg.assignment(args.assignment)
    grade = grade_path(cfg, assignment, Path(args.notebook), choose_isolation(None))
    payload = {
        "scores": grade.by_problem(),
        "points": {p.problem.id: p.problem.points for p in grade.problems},
        "tests": to_results(grade)["tests"],
        "notes": grade.notes,
        "staff": grade.staff,
    }
    Path(args.out).write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
