"""The wire carries plain data only, with exact types; anything else is opaque. And what the
sandbox protocol builds on it: grader-side functions, a uid of its own per sandbox, and packages
the sandbox uid can read wherever the repository was cloned."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.sandbox import wire


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
    import os
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


CALLER = '''
def search(step, n):
    """Calls the grader's step n times; answers what came back, and what step's errors became."""
    got = [step([0] * i).tolist() for i in range(1, n + 1)]
    step.longest = 0  # a record kept on the function in this process changes nothing
    errors = []
    for bad in ([99], "not tokens", None):
        try:
            step(bad)
        except (ValueError, TypeError, IndexError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    try:
        step([0], [1])
    except TypeError as exc:
        errors.append("TypeError")
    return got, errors
'''


def test_the_submission_calls_the_graders_function_through_the_pipe(tmp_path):
    """What the grader's function records is the truth; its errors reach the submission as the
    same built-in exceptions; a call the function cannot take is a TypeError there."""
    from autograder.checking.student import Student
    from autograder.config import Limits
    from autograder.sandbox import Sandbox, choose_isolation

    asked = []

    def step(prefix):
        if not isinstance(prefix, list):
            raise TypeError(f"prefix should be a list, not {type(prefix).__name__}")
        if any(t >= 3 for t in prefix):
            raise IndexError("token ids should be in range(3)")
        asked.append(len(prefix))
        return torch.full((3,), float(len(prefix)))

    with Sandbox({"upload.py": CALLER}, choose_isolation()) as sandbox:
        with sandbox.session(Limits(time_seconds=30)) as session:
            student = Student(session)
            got, errors = student.call("search", student.function("step", step), 4)
    assert got == [[float(i)] * 3 for i in range(1, 5)] and asked == [1, 2, 3, 4]
    assert errors == [
        "IndexError: token ids should be in range(3)",
        "TypeError: prefix should be a list, not str",
        "TypeError: prefix should be a list, not NoneType",
        "TypeError",
    ]


FORKER = '''
import os, time

def start(n):
    """Start n processes that sleep until the session ends; how many could be started."""
    started = 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        started += 1
    return started
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="uids are switched only when the grader runs as root")
@pytest.mark.parametrize("mode", ["bubblewrap", "fallback"])
def test_sandboxes_at_once_get_uids_of_their_own_so_process_limits_never_join_them(mode):
    """Two submissions graded at once (a parallel regrade): each may start as many processes as its
    limit allows, whatever the other does, because each sandbox leased a uid of its own. (In the
    fallback, with one shared uid, the second could start only what the first left of the limit.)"""
    from autograder.checking.student import Student
    from autograder.config import Limits
    from autograder.sandbox import NOBODY, Sandbox, SandboxError, choose_isolation

    try:
        isolation = choose_isolation(mode)
    except SandboxError:
        pytest.skip(f"{mode} does not work on this machine")
    limits = Limits(time_seconds=30, processes=24)
    with Sandbox({"a.py": FORKER}, isolation) as first, Sandbox({"b.py": FORKER}, isolation) as second:
        assert first.uid != second.uid and {first.uid, second.uid} <= set(range(NOBODY - 63, NOBODY + 1))
        assert f"uid {second.uid}" in second.describe()
        with first.session(limits) as one, second.session(limits) as two:
            assert Student(one).call("start", 15) == 15
            assert Student(two).call("start", 15) == 15  # 30 processes of one uid would pass the limit of 24
    with Sandbox({"c.py": FORKER}, isolation) as again:
        assert again.uid == first.uid  # leases end with their sandbox


@pytest.mark.skipif(os.geteuid() != 0, reason="mirrors are made only when the grader runs as root")
def test_packages_the_sandbox_uid_cannot_reach_are_mirrored_where_it_can(tmp_path, monkeypatch):
    """A clone in a 0700 folder (``mktemp -d``, a home folder) hides its venv from uid 65534: the
    sandbox then reads a hard-linked mirror, made once per state of the packages, never from a
    folder that someone other than root could have planted."""
    import subprocess
    import secrets

    from autograder.sandbox import runner

    private = tmp_path / "private"
    (private / "site-packages" / "fakepkg").mkdir(parents=True)
    private.chmod(0o700)
    (private / "site-packages" / "fakepkg" / "__init__.py").write_text("ANSWER = 42\n")
    mirrors = Path("/tmp") / f"mirrors-{secrets.token_hex(4)}"
    monkeypatch.setattr(runner, "PACKAGE_MIRRORS", str(mirrors))
    try:
        packages = str(private / "site-packages")
        assert not runner._nobody_can_reach(packages, 0o005)
        mirror = runner._mirror_packages(packages)
        assert mirror is not None and runner._nobody_can_reach(mirror, 0o005)
        assert os.stat(Path(mirror) / "fakepkg" / "__init__.py").st_nlink == 2  # a hard link, no copy
        read = subprocess.run(
            [runner.interpreter().executable, "-S", "-c", "import fakepkg; print(fakepkg.ANSWER)"],
            env={"PYTHONPATH": mirror}, capture_output=True, text=True, preexec_fn=lambda: runner._drop_privileges(runner.NOBODY),
        )
        assert read.stdout.strip() == "42", read.stderr
        assert runner._mirror_packages(packages) == mirror  # made once
        (private / "site-packages" / "newpkg.py").write_text("")  # pip installed something
        newer = runner._mirror_packages(packages)
        assert newer != mirror and (Path(newer) / "newpkg.py").exists() and not Path(mirror).exists()
        (gone := tmp_path / "deleted-clone").mkdir()
        orphan = runner._mirror_packages(str(gone))
        shutil.rmtree(gone)  # the clone is deleted: its mirror goes when the next one is made
        (private / "site-packages" / "other.py").write_text("")
        assert Path(runner._mirror_packages(packages)).exists() and not Path(orphan).exists()
        mirrors.chmod(0o777)  # as if a sandbox user could write there
        assert runner._mirror_packages(packages) is None
    finally:
        shutil.rmtree(mirrors, ignore_errors=True)
