"""One problem's conversation with a fresh fork of the submission, through the public interface
of its ``Sandbox`` (``fork_request``, ``send``, ``read``, ``restart``, ``clean``, ``note_output_cut``)."""
from __future__ import annotations

import logging
import signal
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from autograder.config import Limits
from autograder.sandbox.errors import DiskFull, Oversized, SandboxError, SessionEnded
from autograder.sandbox.inside import frames

if TYPE_CHECKING:
    from autograder.sandbox.sandbox import Sandbox

LOG = logging.getLogger(__name__)
PROTOCOL_BROKEN = "the submission's process wrote to the grader's channel itself and was stopped (did your code use the grader's modules?)"


class Session:
    """One problem's conversation with a fresh fork of the submission."""

    def __init__(self, sandbox: "Sandbox", limits: Limits, path: str):
        self.sandbox = sandbox
        self.limits = limits
        self.path = path
        self.deadline = 0.0
        self.alive = False
        self.imported: Optional[List[str]] = None
        self.import_error: Optional[Dict[str, str]] = None
        self.ended: Optional[SessionEnded] = None

    def __enter__(self) -> "Session":
        self.deadline = time.monotonic() + self.limits.time_seconds
        self.sandbox.clean()
        self.sandbox.send(self.sandbox.fork_request(self.limits, self.path))
        self.alive = True
        answer = self._answer()
        if "error" in answer:
            self.import_error = answer["error"]
            return self
        imported = answer.get("ok")  # the names the module defines: a plain JSON list of strings
        if not (isinstance(imported, list) and all(isinstance(name, str) for name in imported)):
            self._kill()  # only a frame written by the submission itself looks like this
            raise self._end(PROTOCOL_BROKEN)
        self.imported = imported
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.alive:
            try:
                self.sandbox.send({"op": "end"})
                deadline = time.monotonic() + 5.0
                while True:  # answers the session sent beyond the ones asked for, then its exit
                    frame = self.sandbox.read(deadline)
                    if frame is None:
                        self._kill()
                        break
                    if "exit" in frame:
                        self._exited(frame["exit"])
                        break
            except SandboxError:
                self.sandbox.restart()
            self.alive = False
        self.sandbox.clean()

    def _exited(self, info: Any) -> Dict[str, Any]:
        """The fork server's report of how the session ended (its own frame, never the session's)."""
        info = info if isinstance(info, dict) else {}
        if info.get("cut"):
            self.sandbox.note_output_cut(self.path, self.limits.file_mb)
        return info

    def _kill(self) -> Optional[Dict[str, Any]]:
        """Ask the fork server to end the session; restart the whole sandbox if it cannot."""
        try:
            self.sandbox.send({"op": "kill"})
            deadline = time.monotonic() + 5.0
            while True:
                frame = self.sandbox.read(deadline)
                if frame is None:
                    break
                if "exit" in frame:
                    self.alive = False
                    self.sandbox.clean()
                    return self._exited(frame["exit"])
        except SandboxError:
            pass
        self.sandbox.restart()
        self.alive = False
        return None

    def _end(self, reason: str, code: Optional[int] = None, output: str = "") -> SessionEnded:
        self.ended = SessionEnded(reason, code, output)
        self.sandbox.clean()
        return self.ended

    def _answer(self) -> Dict[str, Any]:
        if self.ended is not None:
            raise self.ended
        try:
            frame = self.sandbox.read(self.deadline, self.limits)
        except DiskFull as full:
            info = self._kill() or {}
            raise self._end(str(full), output=str(info.get("output", ""))) from full
        except Oversized as exc:
            self.sandbox.restart()
            self.alive = False
            raise self._end(f"your code returned a value larger than {frames.MAX_ANSWER_BYTES // (1024 * 1024)} MB") from exc
        except SandboxError as exc:
            self.sandbox.restart()
            self.alive = False
            raise self._end("the sandbox stopped unexpectedly (did your code end its parent process?)") from exc
        if frame is None:
            info = self._kill() or {}
            raise self._end(
                f"the time limit of {self.limits.time_seconds:g} s for this problem ran out",
                output=str(info.get("output", "")),
            )
        if "exit" in frame:
            self.alive = False
            info = self._exited(frame["exit"])
            code = info.get("code")
            reason = exit_reason(code if isinstance(code, int) else None, self.limits)
            if info.get("why") == "protocol":
                reason = PROTOCOL_BROKEN
            raise self._end(reason, code if isinstance(code, int) else None, str(info.get("output", "")))
        if "error" in frame:  # the shape every reader expects, whatever the session put there
            error = frame["error"] if isinstance(frame["error"], dict) else {}
            return {"error": {key: str(error.get(key, ""))[:4000] for key in ("type", "message", "traceback")}}
        if "ok" not in frame and "callback" not in frame:
            self._kill()
            raise self._end(PROTOCOL_BROKEN)
        return frame

    def request(self, message: Dict[str, Any], on_callback: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None) -> Dict[str, Any]:
        """Send one request; the answer frame (``ok`` or ``error``), or SessionEnded.

        While the request runs, the submission may call the grader's functions passed to it
        (``wire.Callback`` of ``inside/wire.py``): each such call arrives as a ``callback`` frame, ``on_callback``
        computes the reply, and the wait for the answer goes on (within the same deadline).
        """
        if self.ended is not None:
            raise self.ended
        self.sandbox.send(message)
        answer = self._answer()
        while "callback" in answer:
            payload = answer["callback"]
            if on_callback is None or not isinstance(payload, dict):
                reply = {"op": "reply", "error": {"type": "RuntimeError", "message": "no grader's function is waiting for a call"}}
            else:
                reply = on_callback(payload)
            self.sandbox.send(reply)
            answer = self._answer()
        return answer


def exit_reason(code: Optional[int], limits: Limits) -> str:
    if code is None:
        return "the submission's process ended"
    if code == -signal.SIGKILL:
        return f"the submission's process was killed (memory limit {limits.memory_mb} MB or CPU limit reached)"
    if code == -signal.SIGXCPU:
        return f"the submission used more than {limits.time_seconds:g} s of CPU time"
    if code == -signal.SIGSEGV:
        return "the submission's process crashed (segmentation fault)"
    if code == frames.CONFINE_FAILED:
        LOG.error("a session could not confine itself (seccomp, Landlock or the uid switch failed)")
        return "the sandbox could not confine your code, so it did not run it: a problem of the grader, not yours; please tell course staff"
    if code == frames.SESSION_FAILED:
        return "the submission's process failed outside your functions (did your file replace Python, numpy or torch functions?)"
    if code < 0:
        try:
            return f"the submission's process was ended by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"the submission's process was ended by signal {-code}"
    return f"the submission's process exited with status {code} (sys.exit or os._exit in the submission?)"
