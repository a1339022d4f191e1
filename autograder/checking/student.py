"""The grader's view of a submission: proxies that turn Python calls into sandbox requests.

Hidden tests call ``student.new("AttentionHead", 4, 2)`` and get a ``Remote`` back; calling it
sends a request, and the answer comes back as plain data rebuilt in this process. Every request
of the current example is written down as Python, so that a failure can show a reproducer.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set

import numpy as np
import torch

from autograder.sandbox import wire
from autograder.sandbox import Session


class SubmissionError(Exception):
    """The submission raised while the grader called it (or could not be called as asked)."""

    def __init__(self, call: str, kind: str, message: str, trace: str):
        super().__init__(f"{call} raised {kind}: {message}")
        self.call = call
        self.kind = kind
        self.message = message
        self.trace = trace


class MissingSymbol(Exception):
    """The upload does not define a name that the problem grades."""


def describe_value(value: Any, limit: int = 6) -> str:
    """Source-like text for a value in a reproducer: small tensors in full, large ones by shape."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= limit * 4:
            body = np.array2string(value.numpy(), separator=", ", precision=4, threshold=10_000).replace("\n", "")
            dtype = "" if value.dtype == torch.float32 else f", dtype=torch.{str(value.dtype).split('.')[-1]}"
            return f"torch.tensor({body}{dtype})"
        return f"<tensor of shape {tuple(value.shape)}, dtype {str(value.dtype).split('.')[-1]}>"
    if isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
        return "{" + ", ".join(f"{k!r}: <{tuple(v.shape)}>" for k, v in list(value.items())[:4]) + (", ..." if len(value) > 4 else "") + "}"
    if isinstance(value, Remote):
        return value.name
    if isinstance(value, (list, tuple)) and len(value) > limit * 4:
        return f"<{type(value).__name__} of {len(value)} items>"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."


def _call_text(name: str, args: tuple, kwargs: Dict[str, Any]) -> str:
    parts = [describe_value(a) for a in args] + [f"{k}={describe_value(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class Student:
    """One problem's session with the submission, and the log of the current example's calls."""

    def __init__(self, session: Session):
        self.session = session
        self.log: List[str] = []
        self.entry_points: Set[str] = set()  # top-level names the checks called (see staff/corpus.py)
        self._names = 0
        self._functions: Dict[int, Callable[..., Any]] = {}

    def begin_example(self) -> None:
        self.log = []
        self._names = 0

    def reproducer(self) -> str:
        return "\n".join(self.log[-12:])

    def _fresh(self, hint: str) -> str:
        self._names += 1
        base = "".join(ch for ch in hint.split(".")[-1].lower() if ch.isalnum()) or "obj"
        return f"{base}{self._names}"

    def function(self, name: str, func: Callable[..., Any]) -> wire.Callback:
        """``func`` as an argument for the submission (a step function for a search, say).

        It runs here, in the grader, on plain data: the submission gets a function that sends
        its arguments over the pipe, so what ``func`` records of its calls is the truth, out of
        the submission's reach. ``func`` must raise ValueError, TypeError or IndexError for bad
        arguments (the submission gets that exception); anything else is the grader's own bug.
        """
        callback = wire.Callback(len(self._functions), name)
        self._functions[callback.ident] = func
        return callback

    def _callback(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        """Run one call of a grader's function that the submission made; the reply frame."""
        try:
            func = self._functions[int(payload["id"])]
            args = [wire.decode(a) for a in payload.get("args", [])]
            kwargs = {str(k): wire.decode(v) for k, v in dict(payload.get("kwargs", {})).items()}
        except (KeyError, ValueError, TypeError, AttributeError, wire.WireError) as exc:
            return {"op": "reply", "error": {"type": "ValueError", "message": f"malformed call of a grader's function: {exc}"}}
        try:
            return {"op": "reply", "value": wire.encode(func(*args, **kwargs))}
        except (ValueError, TypeError, IndexError) as exc:
            return {"op": "reply", "error": {"type": type(exc).__name__, "message": str(exc)[:1000]}}

    def _request(self, text: str, message: Dict[str, Any]) -> Any:
        answer = self.session.request(message, self._callback)
        if "error" in answer:
            err = answer["error"]
            if err.get("type") == "LookupError" and "defines no name" in err.get("message", ""):
                raise MissingSymbol(err["message"])
            raise SubmissionError(text, err.get("type", "Error"), err.get("message", ""), err.get("traceback", ""))
        return wire.decode(answer["ok"])

    def seed(self, seed: int) -> None:
        """Seed torch, numpy and random in the submission's process."""
        self.log.append(f"torch.manual_seed({seed})")
        self._request("torch.manual_seed", {"op": "seed", "seed": int(seed)})

    def call(self, symbol: str, *args: Any, **kwargs: Any) -> Any:
        """Call a top-level function of the submission; the result as plain data."""
        text = _call_text(symbol, args, kwargs)
        self.log.append(text)
        self.entry_points.add(symbol)
        return self._request(text, _message("call", {"symbol": symbol}, args, kwargs))

    def call_repeated(self, symbol: str, times: int, *args: Any, **kwargs: Any) -> List[Any]:
        """``[symbol(*args, **kwargs) for _ in range(times)]`` in one round trip (for samplers)."""
        text = f"[{_call_text(symbol, args, kwargs)} for _ in range({times})]"
        self.log.append(text)
        self.entry_points.add(symbol)
        message = _message("repeat", {"symbol": symbol}, args, kwargs)
        message["times"] = int(times)
        return self._request(text, message)

    def new(self, symbol: str, *args: Any, **kwargs: Any) -> "Remote":
        """Construct ``symbol(*args, **kwargs)`` in the submission; a proxy for the object."""
        name = self._fresh(symbol)
        self.entry_points.add(symbol)
        text = _call_text(symbol, args, kwargs)
        self.log.append(f"{name} = {text}")
        handle = self._request(text, _message("call", {"symbol": symbol}, args, kwargs))
        if not isinstance(handle, wire.Handle):
            raise SubmissionError(text, "TypeError", f"{symbol}(...) returned {describe_value(handle)}, not an object", "")
        return Remote(self, handle, name)


class Remote:
    """An object living in the submission's process, or an attribute path below one."""

    def __init__(self, student: Student, handle: wire.Handle, name: str, path: str = ""):
        self._student = student
        self._handle = handle
        self.name = name
        self.path = path

    @property
    def type_name(self) -> str:
        return self._handle.type_name

    def _where(self) -> Dict[str, Any]:
        return {"handle": self._handle.ident, "path": self.path}

    def _text(self) -> str:
        shown = ""
        for part in filter(None, self.path.split(".")):
            shown += f"[{part}]" if part.isdigit() else f".{part}"
        return self.name + shown

    def attr(self, path: str) -> "Remote":
        """A proxy for ``obj.path`` (dotted; numbers index, as in ``heads.0``)."""
        joined = f"{self.path}.{path}" if self.path else path
        return Remote(self._student, self._handle, self.name, joined)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        text = _call_text(self._text(), args, kwargs)
        self._student.log.append(text)
        result = self._student._request(text, _message("call", self._where(), args, kwargs))
        if isinstance(result, wire.Handle):
            return Remote(self._student, result, self._student._fresh(result.type_name))
        return result

    def get(self) -> Any:
        """The attribute's value as plain data (a handle for objects)."""
        return self._student._request(self._text(), _message("get", self._where(), (), {}))

    def load_state_dict(self, state: Dict[str, torch.Tensor], strict: bool = True) -> None:
        text = f"{self._text()}.load_state_dict({describe_value(state)})"
        self._student.log.append(text)
        self._student._request(text, {"op": "load_state", **self._where(), "args": [wire.encode(state)], "strict": strict})

    def state_dict(self) -> Dict[str, torch.Tensor]:
        return self._student._request(f"{self._text()}.state_dict()", {"op": "state", **self._where()})


def _plain(value: Any) -> Any:
    """An argument as the wire sees it: a proxy travels as its handle (only objects, not paths)."""
    if isinstance(value, Remote):
        if value.path:
            raise ValueError(f"pass {value.name} itself, not an attribute path below it ({value.path})")
        return value._handle
    return value


def _message(op: str, where: Dict[str, Any], args: tuple, kwargs: Dict[str, Any], grad: Optional[bool] = None) -> Dict[str, Any]:
    message = {
        "op": op,
        **where,
        "args": [wire.encode(_plain(a)) for a in args],
        "kwargs": {k: wire.encode(_plain(v)) for k, v in kwargs.items()},
    }
    if grad is not None:
        message["grad"] = grad
    return message
