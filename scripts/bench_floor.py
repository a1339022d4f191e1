"""The in-process floor of ``scripts/benchmark.py``: the hidden checks against the reference,
run in the benchmark's own process with NO isolation and no sandbox.

FOR THE BENCHMARK ONLY, never for grading: it runs the upload's code in this very process,
unconfined. It is kept in ``scripts/`` on purpose, out of the ``autograder`` package, so that
nothing that grades can ever reach it. Its one use is a lower bound: what the same checks cost
with every process boundary, every fork and every sandbox taken away.

How: ``InProcessSession`` stands in for ``autograder.sandbox.Session``. Its ``request(message,
on_callback)`` passes the request (through a JSON round trip, as the pipe would) to the
sandbox child's own request handler (``autograder/sandbox/inside/child.py``'s
``Session.handle``, loaded with that folder on ``sys.path``), and the checks are driven by
``autograder.checking.student.Student`` exactly as ``grade.problem`` does (its few
lines are copied below rather than reaching into the engine's private names).
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import hypothesis.reporting

ROOT = Path(__file__).resolve().parent.parent
INSIDE = ROOT / "autograder" / "sandbox" / "inside"

from autograder.checking.registry import Context  # noqa: E402
from autograder.checking.student import Student  # noqa: E402
from autograder.config import Assignment, Config  # noqa: E402
from autograder.grade.engine import prepare, reference_source  # noqa: E402
from autograder.grade.outcome import check_points  # noqa: E402
from autograder.sandbox import SessionEnded  # noqa: E402


def _child_module() -> Any:
    """The sandbox child's module (``child.py``), imported here, as it is inside the sandbox."""
    if str(INSIDE) not in sys.path:
        sys.path.insert(0, str(INSIDE))
    import child  # type: ignore[import-not-found]  # noqa: PLC0415 - only the benchmark loads it

    return child


def _plain(frame: Any) -> Any:
    """What the pipe does to a frame: JSON text and back (tuples become lists, nothing is shared)."""
    return json.loads(json.dumps(frame, separators=(",", ":"), allow_nan=False))


class InProcessSession:
    """An in-process stand-in for ``autograder.sandbox.Session`` (benchmark only: no isolation)."""

    def __init__(self, path: str):
        child = _child_module()
        outer = self

        class Direct(child.Session):  # type: ignore[misc, name-defined]
            def grader_function(self, ident: int, name: str) -> Callable[..., Any]:
                # child.Session.grader_function, with the pipe replaced by a direct call.
                def call(*args: Any, **kwargs: Any) -> Any:
                    payload = {"id": ident, "args": [child.wire.encode(a) for a in args], "kwargs": {str(k): child.wire.encode(v) for k, v in kwargs.items()}}
                    reply = _plain(outer.on_callback(_plain(payload))) if outer.on_callback else {"error": {"type": "RuntimeError", "message": "no callback"}}
                    if "error" in reply:
                        raise child.CALLBACK_ERRORS.get(str(reply["error"].get("type")), RuntimeError)(str(reply["error"].get("message", "")))
                    return child.wire.decode(reply["value"])

                call.__name__ = call.__qualname__ = name
                return call

        self.on_callback: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None
        self.ended: Optional[SessionEnded] = None
        self.inner = Direct(path, -1, -1)
        self.inner.handle({"op": "seed", "seed": 0})  # as child._run_session does
        answer = _plain(self.inner.load())
        self.import_error: Optional[Dict[str, str]] = answer.get("error")
        self.imported: Optional[List[str]] = None if self.import_error else answer["ok"]  # a plain JSON list of names

    def request(self, message: Dict[str, Any], on_callback: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None) -> Dict[str, Any]:
        self.on_callback = on_callback
        return _plain(self.inner.handle(_plain(message)))


@dataclass
class Floor:
    seconds: float  # wall
    cpu: float  # this process's CPU time
    score: float
    checks: int


def run_checks(config: Config, assignment: Assignment) -> Floor:
    """Every check of ``assignment`` against the reference, in this process, after the set-up the
    grader itself does before its first check (``engine.prepare``)."""
    checks, ref, _ = prepare(config, assignment)
    with tempfile.TemporaryDirectory(prefix="benchmark-floor-") as tmp:
        path = Path(tmp) / assignment.upload
        path.write_text(reference_source(config, assignment), encoding="utf-8")
        t0, c0 = time.monotonic(), time.process_time()
        score, count = 0.0, 0
        for problem in assignment.problems:
            session = InProcessSession(str(path))
            if session.import_error is not None:
                continue
            # From here on: grade/problem.py's _in_session and _run_check, copied.
            student = Student(session)  # type: ignore[arg-type]  # the stand-in has what Student uses
            ctx = Context(student, ref, problem.max_examples)
            maxima = check_points(problem.points, [c.weight for c in checks[problem.id]])
            for check, max_score in zip(checks[problem.id], maxima):
                count += 1
                try:
                    with hypothesis.reporting.with_reporter(lambda _text: None):
                        check.func(ctx)
                except Exception:  # noqa: BLE001 - a failed check scores 0, as in the engine
                    continue
                score += max_score
        return Floor(time.monotonic() - t0, time.process_time() - c0, round(score, 6), count)
