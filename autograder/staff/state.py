"""The regrade's state folder, next to the CSV: one folder per submission, so a batch can resume.

    grades.state/
        state.json                 the assignment, its problems and a fingerprint of what grades it
        <submission>/results.json  Gradescope's results.json, as ``grade`` writes it
        <submission>/summary.json  scores by problem, seconds, error, submitters (written last)

A submission is done when its ``summary.json`` exists and records the same upload fingerprint;
both files are written whole (temporary name, then renamed), so an interrupted batch never
leaves a half-written result that would be taken as done.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from autograder.config import Assignment, Config
from autograder.errors import AutograderError
from autograder.grade.engine import hidden_files
from autograder.grade.outcome import GRADED, NOT_ATTEMPTED
from autograder.staff.submissions import Submission, Submitter
from autograder.uploads import BLOCKED_KINDS

# A row's status: the grade's own, the upload's kinds that cannot run, then the regrade's.
OVER_TIME = "over the time budget"  # stopped at the regrade's per-submission cap
GRADER_ERROR = "grader error"  # the grader itself failed (or its process died): no grade
STATUSES = (GRADED, NOT_ATTEMPTED) + BLOCKED_KINDS + (OVER_TIME, GRADER_ERROR)

STATE_FILE = "state.json"
SUMMARY = "summary.json"
RESULTS = "results.json"


class StateError(AutograderError):
    """The state folder belongs to another grading set-up; the message says how to start over."""


@dataclass
class Outcome:
    """One submission's result: what the CSV row and the report are made of."""

    id: str
    submitters: Tuple[Submitter, ...] = ()
    scores: Dict[str, float] = field(default_factory=dict)  # empty when it could not be graded
    total: Optional[float] = None
    seconds: float = 0.0
    error: str = ""  # why there is no grade (the grader failed, the batch's time cap, no folder)
    upload: str = ""  # fingerprint of the upload that was graded
    status: str = ""  # one of STATUSES; "" in a summary written before the column existed
    unfinished: List[str] = field(default_factory=list)  # problem ids still raising NotImplementedError

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["submitters"] = [asdict(s) for s in self.submitters]
        return data

    @staticmethod
    def from_json(data: Dict[str, Any]) -> "Outcome":
        people = tuple(Submitter(**{k: str(v) for k, v in p.items() if k in ("name", "email", "sid")}) for p in data.get("submitters", []))
        scores = {str(k): float(v) for k, v in dict(data.get("scores", {})).items()}
        total = data.get("total")
        error = str(data.get("error", ""))
        return Outcome(
            str(data["id"]), people, scores, None if total is None else float(total),
            float(data.get("seconds", 0.0)), error, str(data.get("upload", "")),
            str(data.get("status") or (GRADER_ERROR if error else GRADED)),
            [str(p) for p in data.get("unfinished") or []],
        )


def write_json(data: Any, path: Path) -> None:
    """Write the whole file at once (to a temporary name, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)


def folder_name(submission_id: str) -> str:
    """A safe folder name for an id: the id itself when it is plain, else a cleaned id + a hash."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", submission_id).lstrip(".")[:80]
    if clean == submission_id and clean not in ("", STATE_FILE):
        return clean
    return f"{clean or 'submission'}-{hashlib.sha256(submission_id.encode()).hexdigest()[:10]}"


def grading_fingerprint(config: Config, assignment: Assignment) -> str:
    """What decides the grades: the assignment's grading.toml settings (points, limits, examples;
    not other assignments'), its hidden tests and its reference solution."""
    digest = hashlib.sha256(repr(assignment).encode())
    files = hidden_files(config, assignment) + [config.root / "solutions" / name for name in assignment.sources]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class State:
    folder: Path

    @staticmethod
    def beside(csv_path: Path) -> "State":
        return State(csv_path.with_name(csv_path.stem + ".state"))

    def describe(self) -> Dict[str, Any]:
        path = self.folder / STATE_FILE
        if not path.is_file():
            raise StateError(f"{self.folder}: no {STATE_FILE}; run `python -m autograder regrade` with this --out first")
        return json.loads(path.read_text(encoding="utf-8"))

    def open(self, config: Config, assignment: Assignment, fresh: bool) -> None:
        """Create the folder, or check that it was made by this grading set-up (or empty it)."""
        wanted = {
            "assignment": assignment.id,
            "title": assignment.title,
            "problems": [{"id": p.id, "title": p.title, "points": p.points} for p in assignment.problems],
            "grading": grading_fingerprint(config, assignment),
        }
        path = self.folder / STATE_FILE
        if path.is_file() and not fresh:
            found = json.loads(path.read_text(encoding="utf-8"))
            if found.get("assignment") != wanted["assignment"] or found.get("grading") != wanted["grading"]:
                raise StateError(
                    f"{self.folder}: holds results of another grading set-up (assignment {found.get('assignment')!r}, or "
                    "grading.toml, hidden tests or solutions changed since); pass --fresh to regrade everything, "
                    "or choose another --out"
                )
        if fresh:
            for summary in self.folder.glob(f"*/{SUMMARY}"):
                summary.unlink()
        write_json(wanted, path)

    def done(self, submission: Submission, upload: str, retry_errors: bool) -> Optional[Outcome]:
        """The stored outcome if this very upload was graded before (and did not fail, with ``retry_errors``)."""
        path = self.folder / folder_name(submission.id) / SUMMARY
        if not path.is_file():
            return None
        try:
            outcome = Outcome.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: grade again
        if outcome.upload != upload or (retry_errors and outcome.error):
            return None
        outcome.submitters = submission.submitters  # the metadata may have been corrected since
        return outcome

    def save(self, outcome: Outcome, results: Dict[str, Any]) -> None:
        target = self.folder / folder_name(outcome.id)
        write_json(results, target / RESULTS)
        write_json(outcome.to_json(), target / SUMMARY)  # last: its presence means done

    def outcomes(self) -> List[Outcome]:
        found = []
        for path in sorted(self.folder.glob(f"*/{SUMMARY}")):
            found.append(Outcome.from_json(json.loads(path.read_text(encoding="utf-8"))))
        return sorted(found, key=lambda o: o.id)

    def results(self, submission_id: str) -> Dict[str, Any]:
        path = self.folder / folder_name(submission_id) / RESULTS
        if not path.is_file():
            return {"tests": []}
        return json.loads(path.read_text(encoding="utf-8"))
