"""The wire carries plain data only, with exact types; anything else is opaque, and decoding
anything the sandbox sends fails only as a WireError."""
import json
import os

import numpy as np
import pytest
import torch

from autograder.sandbox import wire
from autograder.sandbox.inside import frames

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
        os.write(write, struct.pack(">I", frames.MAX_ANSWER_BYTES + 1))
        with pytest.raises(wire.WireError, match="exceeds"):
            frames.read_frame(read, frames.MAX_ANSWER_BYTES)
        deep = b"[" * 100_000 + b"]" * 100_000
        os.write(write, struct.pack(">I", len(deep)))
        writer = os.fork()
        if writer == 0:
            os.write(write, deep)
            os._exit(0)
        with pytest.raises(wire.WireError, match="not JSON"):
            frames.read_frame(read)
        os.waitpid(writer, 0)
        with pytest.raises(wire.WireError):
            frames.write_frame(write, {"v": "x" * 100}, max_bytes=50)
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


# ---------------------------------------------------------------------------------------------
# Whatever comes from the sandbox, decoding fails only as a WireError (property-based)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TAGS = ["none", "bool", "int", "float", "str", "list", "tuple", "dict", "tensor", "ndarray", "npscalar", "handle", "opaque", "callback", "pickle"]
DTYPES = ["float32", "bfloat16", "int64", "bool", "object", "V8", "S3", "<U2"]


@st.composite
def json_values(draw, depth: int = 3):
    """Any JSON value, small: what a forged frame may hold where a tagged value is expected."""
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=8))
    if depth == 0:
        return draw(leaves)
    inner = json_values(depth - 1)
    return draw(st.one_of(leaves, st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3), tagged(depth - 1)))


@st.composite
def tagged(draw, depth: int = 3):
    """A dict that looks like a tagged value: a tag, and fields of the right names holding anything."""
    value = {"t": draw(st.sampled_from(TAGS) | json_values(0))}
    fields = {
        "v": json_values(depth) if depth else st.text(max_size=4),
        "dtype": st.sampled_from(DTYPES) | json_values(0),
        "shape": st.lists(st.integers(-2, 4), max_size=3) | json_values(0),
        "data": st.sampled_from(["", "AAAAAAAAAAA=", "AAAAAA==", "!!"]) | json_values(0),
        "id": st.integers(-1, 3) | json_values(0),
        "type": json_values(0),
        "text": json_values(0),
    }
    for name, strategy in fields.items():
        if draw(st.booleans()):
            value[name] = draw(strategy)
    if value["t"] in ("list", "tuple", "dict") and draw(st.booleans()):  # well-formed containers of anything
        items = st.lists(st.lists(json_values(depth - 1) if depth else st.none(), min_size=2, max_size=2), max_size=3)
        value["v"] = draw(items if value["t"] == "dict" else st.lists(tagged(depth - 1) if depth else st.none(), max_size=3))
    return value


FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(tagged())
def test_decoding_any_tagged_structure_gives_a_value_or_a_wire_error(obj):
    try:
        wire.decode(obj)
    except wire.WireError:
        pass


@FUZZ
@given(st.binary(max_size=200) | json_values().map(lambda v: json.dumps(v).encode()))
def test_any_frame_body_parses_to_a_message_or_a_wire_error(body):
    try:
        message = frames.parse_frame(body)
    except wire.WireError:
        return
    try:
        wire.decode(message)
    except wire.WireError:
        pass


@FUZZ
@given(json_values())
def test_the_item_count_bounds_what_parsing_builds(value):
    """Counted on the bytes alone, it is never below the containers and items actually built."""
    def built(v):
        if isinstance(v, dict):
            return 1 + max(len(v) - 1, 0) + sum(built(x) for x in v.values())
        if isinstance(v, list):
            return 1 + max(len(v) - 1, 0) + sum(built(x) for x in v)
        return 0

    assert frames.count_items(json.dumps(value).encode()) >= built(value)


def test_a_frame_of_too_many_items_is_refused_before_it_is_parsed():
    body = b"[" + b",".join([b"{}"] * frames.MAX_FRAME_ITEMS) + b"]"
    with pytest.raises(wire.WireError, match="items exceeds"):
        frames.parse_frame(body)
    fits = b'["' + b",{[" * frames.MAX_FRAME_ITEMS + b'"]'  # brackets inside a string are text
    assert frames.parse_frame(fits) == [",{[" * frames.MAX_FRAME_ITEMS]


def test_forged_values_of_the_known_crashes_are_wire_errors():
    for forged in (
        {"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]},  # a list as a key
        {"t": "int", "v": "not a number"},
        {"t": "ndarray", "dtype": "object", "shape": [1], "data": "AAAAAAAAAAA="},
        {"t": "list", "v": {"t": "none"}},  # a container whose items are not a list
    ):
        with pytest.raises(wire.WireError):
            wire.decode(forged)
