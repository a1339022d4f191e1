"""The grader's view of a submission: proxies that turn Python calls into sandbox requests.

Hidden tests call ``student.new("AttentionHead", 4, 2)`` and get a ``Remote`` back; calling it
sends a request, and the answer comes back as plain data rebuilt in this process. Every request
of the current example is written down as Python, so that a failure can show a reproducer.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set

import numpy as np
import torch

from autograder.checking.strategies import source_of
from autograder.sandbox import Session, wire


class SubmissionError(Exception):
    """The submission raised while the grader called it (or could not be called as asked)."""

    def __init__(self, call: str, kind: str, message: str, trace: str):
        super().__init__(f"{call} raised {kind}: {message}")
        self.call = call
        self.kind = kind
        self.message = message
        self.trace = trace


# NLTK's sentence splitter needs the punkt_tab data, which grading never downloads: the Gradescope
# image fetches it when it is built (autograder/build/gradescope/setup.sh), where the network allows.
NLTK_DATA_MISSING = (
    "NLTK's punkt_tab data is not installed here, and grading downloads nothing. "
    "Split words without sentence splitting, which needs no data: nltk.word_tokenize(text, preserve_line=True)"
)


class MissingSymbol(Exception):
    """The upload does not define a name that the problem grades."""


FULL_VALUES = 512  # tensors up to this many elements are shown in full in reproducers


def _tensor_text(value: torch.Tensor) -> str:
    """Paste-able code for a tensor: a seeded constructor when the grader made it with one, else
    its exact values (float32 printed with the fewest digits that read back to the same value)."""
    source = source_of(value)
    if source is not None:
        return source
    dtype = str(value.dtype).split(".")[-1]
    if value.numel() > FULL_VALUES:
        return f"torch.zeros({tuple(value.shape)}, dtype=torch.{dtype})  # stand-in: the grader's {value.numel()} values are not shown"
    readable = value.detach().cpu()
    body = _nested((readable.float() if readable.dtype == torch.bfloat16 else readable).numpy())
    suffix = "" if value.dtype in (torch.float32, torch.int64, torch.bool) else f", dtype=torch.{dtype}"
    if value.dtype == torch.int64 and value.numel() == 0:
        suffix = ", dtype=torch.int64"
    return f"torch.tensor({body}{suffix})"


def _number(x: Any) -> str:
    if isinstance(x, np.floating):
        if np.isnan(x):
            return "float('nan')"
        if np.isinf(x):
            return "float('inf')" if x > 0 else "-float('inf')"
        return str(x)  # the shortest text that reads back to the same value of its dtype
    return str(x.item() if isinstance(x, np.generic) else x)


def _nested(array: np.ndarray) -> str:
    if array.ndim == 0:
        return _number(array[()])
    return "[" + ", ".join(_nested(row) if array.ndim > 1 else _number(row) for row in array) + "]"


def describe_value(value: Any, limit: int = 6) -> str:
    """Source text for a value in a reproducer, which a student can paste and run: tensors as a
    seeded constructor or in full, containers item by item, proxies by their variable name."""
    if isinstance(value, torch.Tensor):
        return _tensor_text(value)
    if isinstance(value, Remote):
        return value.name
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe_value(v, limit)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (torch.Tensor, Remote, dict, list, tuple)) for v in value):
        items = ", ".join(describe_value(v, limit) for v in value)
        return f"[{items}]" if isinstance(value, list) else f"({items}{',' if len(value) == 1 else ''})"
    return repr(value)


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
        self._modules: Dict[str, wire.Handle] = {}  # Python modules of the session, by name
        self.memo: Dict[str, Any] = {}  # what a problem's checks set up once per session

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
            kind, message, trace = err.get("type", "Error"), err.get("message", ""), err.get("traceback", "")
            if kind == "LookupError" and "punkt" in message:
                message, trace = NLTK_DATA_MISSING, ""  # one plain sentence instead of NLTK's dump, twice
            raise SubmissionError(text, kind, message, trace)
        return wire.decode(answer["ok"])

    def seed(self, seed: int) -> None:
        """Seed torch, numpy and random in the submission's process."""
        self.log.append(f"torch.manual_seed({seed})")
        self._request("torch.manual_seed", {"op": "seed", "seed": int(seed)})

    def module(self, name: str) -> "Remote":
        """A proxy for the already imported module ``name`` of the session (``random``, ``numpy``),
        reached as ``sys.modules`` through the upload's ``torch`` (every upload imports it); one
        round trip per session and module."""
        if name not in self._modules:
            text = f"sys.modules[{name!r}]"
            handle = self._request(text, _message("call", {"symbol": "torch", "path": "sys.modules.get"}, (name,), {}))
            if not isinstance(handle, wire.Handle):
                raise SubmissionError(text, "LookupError", f"module {name} is not loaded in the session", "")
            self._modules[name] = handle
        return Remote(self, self._modules[name], name.split(".")[-1])

    def bookkeeping(self, symbol: str, path: str, *args: Any, get: bool = False) -> Any:
        """``symbol.path(*args)`` (or, with ``get``, the value ``symbol.path``) in the session, as
        grader's bookkeeping: not written into the reproducer, not an entry point. Objects come
        back as handles, which later requests can pass as arguments."""
        text = f"{symbol}.{path}" if get else _call_text(f"{symbol}.{path}", args, {})
        return self._request(text, _message("get" if get else "call", {"symbol": symbol, "path": path}, args, {}))

    def seed_torch_only(self, seed: int, other: int) -> None:
        """Seed torch with ``seed`` and Python's and numpy's generators with ``other``: draws that
        come from torch's generator do not depend on ``other``."""
        self.seed(seed)
        self.log.append(f"import random; import numpy; random.seed({other}); numpy.random.seed({other})")
        self._request(f"random.seed({other})", _message("call", {"handle": self.module("random")._handle.ident, "path": "seed"}, (other,), {}))
        self._request(f"numpy.random.seed({other})", _message("call", {"handle": self.module("numpy")._handle.ident, "path": "random.seed"}, (other,), {}))

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
        remote = Remote(self, handle, name)
        remote.made = text
        return remote


class Remote:
    """An object living in the submission's process, or an attribute path below one."""

    def __init__(self, student: Student, handle: wire.Handle, name: str, path: str = ""):
        self._student = student
        self._handle = handle
        self.name = name
        self.path = path
        self.made = ""  # the constructor call that made it, for Student.new's objects

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

    def load_state_dict(self, state: Dict[str, torch.Tensor], strict: bool = True, shown: Optional[str] = None) -> Any:
        """``obj.load_state_dict(state, strict)``; (missing keys, unexpected keys) as the submission
        reports them. ``shown`` is the reproducer's line for it (the state in full otherwise)."""
        text = f"{self._text()}.load_state_dict({describe_value(state)}{'' if strict else ', strict=False'})"
        self._student.log.append(shown or text)
        return self._student._request(text, {"op": "load_state", **self._where(), "args": [wire.encode(state)], "strict": strict})

    def state_dict(self) -> Dict[str, torch.Tensor]:
        return self._student._request(f"{self._text()}.state_dict()", {"op": "state", **self._where()})

    def parameters(self, shapes_only: bool = False) -> Dict[str, torch.Tensor]:
        """``dict(obj.named_parameters())``: the module's parameters by name (each once, even if
        shared), without its buffers. Two round trips; not part of the reproducer (the grader's
        bookkeeping). ``dict`` is reached as the class of the upload's ``torch.__dict__``.

        ``shapes_only``: the caller reads names and shapes only, which are the same for every
        object the same constructor call made: asked once per session and call."""
        key = ("parameters", self.made)
        if shapes_only and self.made and key in self._student.memo:
            return self._student.memo[key]
        if self.path:
            raise ValueError(f"ask {self.name} itself, not an attribute path below it ({self.path})")
        text = f"dict({self.name}.named_parameters())"
        generator = self._student._request(text, _message("call", {"handle": self._handle.ident, "path": "named_parameters"}, (), {}))
        if not isinstance(generator, wire.Handle):
            raise SubmissionError(text, "TypeError", f"{self.name}.named_parameters() returned {describe_value(generator)}", "")
        answer = self._student._request(text, _message("call", {"symbol": "torch", "path": "__dict__.__class__"}, (generator,), {}))
        if not isinstance(answer, dict) or not all(isinstance(v, torch.Tensor) for v in answer.values()):
            raise SubmissionError(text, "TypeError", f"the parameters of {self.name} came back as {describe_value(answer)}", "")
        params = {str(k): v for k, v in answer.items()}
        if self.made:
            self._student.memo[key] = params
        return params


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
