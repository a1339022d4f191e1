"""Frames between the trusted grader and the sandboxed child, and the exit statuses both know.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. This module
imports neither numpy nor torch, so the grader can start the sandbox before it imports them
(``wire.py`` describes the values inside frames). Like every file of this folder it runs on both
sides and imports nothing from the ``autograder`` package.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import struct
from typing import Any, List, Optional, Tuple

MAX_FRAME_BYTES = 64 * 1024 * 1024  # one request or response; a larger one is refused
# One answer from the submission's side. The grader parses answers, and a frame of tiny JSON
# values costs tens of times its size in Python objects: this bound keeps the grader's memory
# bounded whatever the sandbox sends (the container may have only 768 MB).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# JSON containers and items in one frame, counted on its bytes before it is parsed: a frame of
# tiny values (``[{},{},...]``) costs tens of times its size once parsed, whoever wrote it. The
# largest answer the checks ask for (10,000 draws of a sampler, as tensors) has about 60,000.
MAX_FRAME_ITEMS = 250_000

# Exit statuses of a session that both sides know: the fork server reports them in its own frame,
# which no session can forge (a session's frames may say anything).
SESSION_FAILED = 70  # the session's own code (child.py) failed outside the submission's functions
CONFINE_FAILED = 71  # the session could not confine itself, so it never ran the submission

PIPE_BYTES = 1 << 20  # the buffer asked for the pipes frames cross (Linux's default cap for a user)

_HEADER = struct.Struct(">I")
# A JSON string, escapes included (no quote can appear outside strings in valid JSON).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class WireError(Exception):
    """A frame or value that does not follow the wire format."""


class FrameTooLarge(WireError):
    """A frame larger than the reader accepts: refused from its header, so the stream is unusable."""


def pipe() -> Tuple[int, int]:
    """A pipe (read end, write end) with a buffer of ``PIPE_BYTES`` where the kernel grants it (a
    user past its pipe quota keeps the default 64 KB): a large frame then crosses in one write
    instead of one 64 KB piece per wake-up of the reader."""
    read_fd, write_fd = os.pipe()
    try:
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass
    return read_fd, write_fd


def encode(message: Any) -> bytes:
    """A message's frame body (compact JSON: the grader's requests have one spelling each)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")


KILL = encode({"op": "kill"})  # the body of the request that asks the fork server to end a session


def write_frame(fd: int, message: Any, max_bytes: int = MAX_FRAME_BYTES) -> None:
    data = encode(message)
    if len(data) > max_bytes:
        raise WireError(f"frame of {len(data)} bytes exceeds {max_bytes}")
    write_body(fd, data)


def write_body(fd: int, data: bytes) -> None:
    """A frame of body ``data``, as it is (the fork server relays bodies without re-encoding them)."""
    payload = _HEADER.pack(len(data)) + data
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, size: int) -> Optional[bytes]:
    chunks: List[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, max_bytes: int = MAX_FRAME_BYTES) -> Optional[Any]:
    """The next message, or None at end of stream (including a frame cut short).

    A frame over ``max_bytes`` raises WireError before its body is read: the stream cannot be
    used after that."""
    data = read_body(fd, max_bytes)
    return None if data is None else parse_frame(data)


def read_body(fd: int, max_bytes: int = MAX_FRAME_BYTES) -> Optional[bytes]:
    """The next frame's body, unparsed (None and FrameTooLarge as for ``read_frame``)."""
    header = read_exact(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > max_bytes:
        raise FrameTooLarge(f"frame of {size} bytes exceeds {max_bytes}")
    return read_exact(fd, size)


def count_items(data: bytes) -> int:
    """An upper bound of the containers and items of the JSON text ``data``, from its bytes alone:
    the brackets and commas outside strings (exact for valid JSON, cheap: no object is built)."""
    bare = _JSON_STRING.sub(b"", data)
    return bare.count(b"{") + bare.count(b"[") + bare.count(b",")


def parse_frame(data: bytes) -> Any:
    """The message in a frame's body. Refused before parsing when it holds more than
    ``MAX_FRAME_ITEMS`` items, so that parsing costs at most a bounded multiple of the frame."""
    items = count_items(data)
    if items > MAX_FRAME_ITEMS:
        raise WireError(f"frame of {items} items exceeds {MAX_FRAME_ITEMS}")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"frame is not JSON: {str(exc)[:200]}") from exc
