"""The values inside frames between the trusted grader and the sandboxed child.

Plain data only, never pickles: every value becomes tagged JSON, arrays become raw bytes in
base64 with their dtype and shape. The same module runs on both sides (it is copied into the
sandbox beside ``child.py``), so it imports nothing from the ``autograder`` package. Framing, the
size limits of a frame and the exit statuses are in ``frames.py``.
"""
from __future__ import annotations

import base64
import math
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch

if __package__:  # the grader: this folder is the package autograder.sandbox.inside
    from .frames import WireError
else:  # inside the sandbox: the files of this folder sit side by side on sys.path
    from frames import WireError

MAX_DEPTH = 8  # nesting of lists/tuples/dicts in one value
MAX_ITEMS = 10_000  # elements of one list/tuple/dict
MAX_STR = 100_000  # characters of one string

# numpy cannot hold bfloat16: such tensors travel as float32 and keep their dtype's name.
_TORCH_DTYPES: Dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
_WIRE_NUMPY = {name: ("float32" if name == "bfloat16" else name) for name in _TORCH_DTYPES}


class Opaque:
    """A value that is not plain data (a subclass of int, a custom object, ...), seen from outside.

    It keeps only the type's name and a bounded ``repr``: nothing of it can run in the grader.
    """

    def __init__(self, type_name: str, text: str):
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name} object: {self.text}>"


class Handle:
    """A reference to an object that lives in the child (a module, a tokenizer, ...)."""

    def __init__(self, ident: int, type_name: str):
        self.ident = ident
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} in the submission>"


class Callback:
    """A function of the grader's, passed to the submission as an argument.

    It travels as a number. The child turns it into a plain function that sends its arguments
    back over the pipe and returns the grader's answer (see ``child.Session.grader_function``),
    so the grader itself observes every call: a count kept in the sandbox could be edited by the
    submission, one kept here cannot.
    """

    def __init__(self, ident: int, name: str):
        self.ident = ident
        self.name = name

    def __repr__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------------------------
# Values

# Captured at import, before any submission code runs, so that a submission that rebinds
# builtins in its own process cannot change how its values are described.
_type = type
_isinstance = isinstance


def _float_text(value: float) -> str:
    return repr(value) if math.isfinite(value) else str(value)


def _array_payload(array: np.ndarray) -> Dict[str, Any]:
    array = np.asarray(array, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    return {
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def encode(value: Any, store: Optional[Callable[[Any], int]] = None, depth: int = 0) -> Dict[str, Any]:
    """Describe ``value`` as tagged JSON.

    Exact types only: a subclass of ``int`` or ``Tensor`` is not an ``int`` or a ``Tensor`` here.
    Objects that are not plain data become handles when ``store`` is given (the child keeps
    them), otherwise opaque descriptions.
    """
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = _type(value)
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": _float_text(value)}
    if kind is str:
        if len(value) > MAX_STR:
            raise WireError(f"string of {len(value)} characters exceeds {MAX_STR}")
        return {"t": "str", "v": value}
    if kind in (list, tuple):
        if len(value) > MAX_ITEMS:
            raise WireError(f"sequence of {len(value)} items exceeds {MAX_ITEMS}")
        return {"t": kind.__name__, "v": [encode(item, store, depth + 1) for item in value]}
    if kind is dict:
        if len(value) > MAX_ITEMS:
            raise WireError(f"dict of {len(value)} items exceeds {MAX_ITEMS}")
        return {"t": "dict", "v": [[encode(k, store, depth + 1), encode(v, store, depth + 1)] for k, v in value.items()]}
    if kind is torch.Tensor or kind is torch.nn.Parameter:
        name = str(value.dtype).replace("torch.", "")
        if name not in _TORCH_DTYPES:
            return {"t": "opaque", "type": f"Tensor[{name}]", "text": "tensor of an unsupported dtype"}
        tensor = torch.Tensor.detach(value).cpu()
        if name == "bfloat16":
            tensor = tensor.to(torch.float32)
        payload = _array_payload(tensor.numpy())
        return {"t": "tensor", "dtype": name, **payload}
    if kind is np.ndarray:
        if value.dtype.name not in _WIRE_NUMPY.values():
            return {"t": "opaque", "type": f"ndarray[{value.dtype.name}]", "text": "array of an unsupported dtype"}
        return {"t": "ndarray", "dtype": value.dtype.name, **_array_payload(value)}
    if _isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.name in _WIRE_NUMPY.values():
        return {"t": "npscalar", "dtype": value.dtype.name, **_array_payload(np.asarray(value))}
    if kind is Handle:
        return encode_handle(value)
    if kind is Callback:
        return {"t": "callback", "id": value.ident, "name": value.name}
    type_name = f"{kind.__module__}.{kind.__qualname__}"
    if store is not None:
        return {"t": "handle", "id": store(value), "type": type_name}
    return {"t": "opaque", "type": type_name, "text": _safe_repr(value)}


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a submission's __repr__ may raise anything
        text = f"<repr raised {_type(exc).__name__}>"
    if not _isinstance(text, str):
        text = "<repr returned a non-string>"
    return text[:200]


def _array(obj: Dict[str, Any], dtype_name: Any) -> np.ndarray:
    if dtype_name not in _WIRE_NUMPY.values():
        raise WireError(f"unknown array dtype {str(dtype_name)[:50]}")
    if not (_type(obj["data"]) is str and _type(obj["shape"]) is list and all(_type(n) is int and 0 <= n for n in obj["shape"])):
        raise WireError("array data must be base64 text and its shape a list of sizes")
    raw = base64.b64decode(obj["data"], validate=True)
    shape = tuple(obj["shape"])
    array = np.frombuffer(raw, dtype=np.dtype(dtype_name))
    if array.size != math.prod(shape):
        raise WireError("array data does not match its shape")
    return array.reshape(shape).copy()


def decode(
    obj: Any,
    resolve: Optional[Callable[[int], Any]] = None,
    callback: Optional[Callable[[int, str], Callable[..., Any]]] = None,
) -> Any:
    """Rebuild a value from tagged JSON. Tensors and arrays are built anew from raw bytes.

    ``resolve`` turns a handle into the child's object, ``callback`` a grader's function into
    a function that calls it (child side only); without them, a handle stays a ``Handle`` and a
    callback is refused.

    Total over any JSON value: whatever arrives (a frame written by the submission itself, say),
    the only failure is a WireError.
    """
    try:
        return _decode(obj, resolve, callback, 0)
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        raise WireError(f"malformed value ({_type(exc).__name__}: {str(exc)[:200]})") from exc


def _text(value: Any) -> str:
    if _type(value) is not str:
        raise WireError(f"expected text, got {_type(value).__name__}")
    return value


def _items(value: Any) -> List[Any]:
    if _type(value) is not list or len(value) > MAX_ITEMS:
        raise WireError(f"expected a list of at most {MAX_ITEMS} items")
    return value


def _decode(obj: Any, resolve: Optional[Callable[[int], Any]], callback: Optional[Callable[[int, str], Callable[..., Any]]], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if _type(obj) is not dict or "t" not in obj:
        raise WireError(f"not a tagged value: {str(obj)[:100]}")
    tag = obj["t"]
    if tag == "none":
        return None
    if tag == "bool":
        if _type(obj["v"]) is not bool:
            raise WireError("a bool must be true or false")
        return obj["v"]
    if tag == "int":
        return int(_text(obj["v"]))
    if tag == "float":
        return float(_text(obj["v"]))
    if tag == "str":
        return _text(obj["v"])
    if tag == "list":
        return [_decode(item, resolve, callback, depth + 1) for item in _items(obj["v"])]
    if tag == "tuple":
        return tuple(_decode(item, resolve, callback, depth + 1) for item in _items(obj["v"]))
    if tag == "dict":
        out = {}
        for pair in _items(obj["v"]):
            key, value = _items(pair)  # ValueError unless a pair
            key = _decode(key, resolve, callback, depth + 1)
            hash(key)  # TypeError for a list, a dict, an array: not a key
            out[key] = _decode(value, resolve, callback, depth + 1)
        return out
    if tag == "tensor":
        name = obj["dtype"]
        if name not in _TORCH_DTYPES:
            raise WireError(f"unknown tensor dtype {str(name)[:50]}")
        return torch.from_numpy(_array(obj, _WIRE_NUMPY[name])).to(_TORCH_DTYPES[name])
    if tag == "ndarray":
        return _array(obj, obj["dtype"])
    if tag == "npscalar":
        array = _array(obj, obj["dtype"])
        if array.ndim != 0:
            raise WireError("a numpy scalar has shape []")
        return array[()]
    if tag == "handle":
        if _type(obj["id"]) is not int:
            raise WireError("a handle's id is a number")
        if resolve is not None:
            return resolve(obj["id"])
        return Handle(obj["id"], _text(obj["type"])[:200])
    if tag == "opaque":
        return Opaque(_text(obj["type"])[:200], _text(obj["text"])[:1000])
    if tag == "callback":
        if callback is None:
            raise WireError("a grader's function cannot be sent this way")
        if _type(obj["id"]) is not int:
            raise WireError("a grader's function's id is a number")
        return callback(obj["id"], str(obj.get("name", "function"))[:100])
    raise WireError(f"unknown tag {str(tag)[:50]!r}")


def encode_handle(handle: Handle) -> Dict[str, Any]:
    return {"t": "handle", "id": handle.ident, "type": handle.type_name}
