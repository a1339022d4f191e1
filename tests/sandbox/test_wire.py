"""The wire carries plain data only, with exact types; anything else is opaque."""
import os

import numpy as np
import pytest
import torch

from autograder.sandbox import wire

pytestmark = pytest.mark.unit


def roundtrip(value):
    return wire.decode(wire.encode(value))


def test_plain_values_round_trip_exactly():
    value = {"a": [1, 2.5, float("inf"), None, True, "s"], "t": (torch.arange(6).reshape(2, 3), np.ones(2, dtype=np.float32))}
    back = roundtrip(value)
    assert back["a"][:2] == [1, 2.5] and back["a"][2] == float("inf") and back["a"][3:] == [None, True, "s"]
    assert torch.equal(back["t"][0], value["t"][0]) and back["t"][0].dtype == torch.int64
    assert isinstance(back["t"][1], np.ndarray) and back["t"][1].dtype == np.float32


def test_subclasses_and_objects_become_opaque():
    class SneakyInt(int):
        def __eq__(self, other):
            return True

    class SneakyTensor(torch.Tensor):
        pass

    assert isinstance(roundtrip(SneakyInt(3)), wire.Opaque)
    assert isinstance(roundtrip(torch.zeros(2).as_subclass(SneakyTensor)), wire.Opaque)
    assert isinstance(roundtrip(object()), wire.Opaque)
    assert roundtrip(np.int64(3)) == 3 and type(roundtrip(np.int64(3))) is np.int64


def test_bfloat16_keeps_its_dtype():
    back = roundtrip(torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    assert back.dtype == torch.bfloat16 and back.tolist() == [1.5, -2.0]


def test_limits_and_malformed_values_are_refused():
    with pytest.raises(wire.WireError):
        wire.encode(list(range(wire.MAX_ITEMS + 1)))
    with pytest.raises(wire.WireError):
        wire.decode({"t": "tensor", "dtype": "float32", "shape": [5], "data": ""})
    with pytest.raises(wire.WireError):
        wire.decode({"t": "pickle", "v": "gASV"})


def test_frames_from_the_sandbox_are_bounded_before_they_are_read():
    """The grader reads answers with ``MAX_ANSWER_BYTES``: an oversized frame is refused from its
    header alone, and JSON nested past the parser's depth is a WireError, not a crash."""
    import struct

    read, write = os.pipe()
    try:
        os.write(write, struct.pack(">I", wire.MAX_ANSWER_BYTES + 1))
        with pytest.raises(wire.WireError, match="exceeds"):
            wire.read_frame(read, wire.MAX_ANSWER_BYTES)
        deep = b"[" * 100_000 + b"]" * 100_000
        os.write(write, struct.pack(">I", len(deep)))
        writer = os.fork()
        if writer == 0:
            os.write(write, deep)
            os._exit(0)
        with pytest.raises(wire.WireError, match="not JSON"):
            wire.read_frame(read)
        os.waitpid(writer, 0)
        with pytest.raises(wire.WireError):
            wire.write_frame(write, {"v": "x" * 100}, max_bytes=50)
    finally:
        os.close(read)
        os.close(write)


def test_a_grader_function_travels_as_a_number_and_runs_only_where_it_is_expected():
    encoded = wire.encode([wire.Callback(3, "step")])
    assert encoded == {"t": "list", "v": [{"t": "callback", "id": 3, "name": "step"}]}
    with pytest.raises(wire.WireError, match="grader's function"):
        wire.decode(encoded)  # the grader never accepts one back
    made = []
    back = wire.decode(encoded, callback=lambda ident, name: made.append((ident, name)) or name.upper)
    assert made == [(3, "step")] and back[0]() == "STEP"
