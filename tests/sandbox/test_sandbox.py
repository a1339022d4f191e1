"""Real sandboxes: the submission calls a grader-side function through the pipe, and sandboxes
running at once each lease a uid of their own."""
import os
import re

import pytest
import torch

from helpers import isolation_or_skip

pytestmark = pytest.mark.e2e


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



def held_leases() -> set:
    """The sandbox uids whose lease this process holds: lease files (``<uid>.lock``) open here and
    flock-ed by this process according to the kernel (/proc/locks). A lease is an exclusive flock,
    so a uid in this set is leased by nothing else on the machine while it is in it."""
    locked = set()
    with open("/proc/locks") as handle:  # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF"
        for line in handle:
            fields = line.split()
            if "FLOCK" in fields and "->" not in fields:
                at = fields.index("FLOCK")
                pid, device_inode = fields[at + 3], fields[at + 4]
                locked.add((int(pid), int(device_inode.rsplit(":", 1)[1])))
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            inode = os.fstat(int(fd)).st_ino
        except OSError:
            continue
        if re.fullmatch(r"\d+\.lock", name) and (os.getpid(), inode) in locked:
            held.add(int(name.removesuffix(".lock")))
    return held


@pytest.mark.skipif(os.geteuid() != 0, reason="uids are switched only when the grader runs as root")
@pytest.mark.parametrize("mode", ["bubblewrap", "fallback"])
def test_sandboxes_at_once_get_uids_of_their_own_so_process_limits_never_join_them(mode):
    """Two submissions graded at once (a parallel regrade): each may start as many processes as its
    limit allows, whatever the other does, because each sandbox leased a uid of its own. (In the
    fallback, with one shared uid, the second could start only what the first left of the limit.)

    Other gradings on the machine may hold leases meanwhile: the test asserts only on its own two
    sandboxes (their uids differ, are in the lease range and are leased by this process, so by
    nothing else), never on which uids happen to be free."""
    from autograder.checking.student import Student
    from autograder.config import Limits
    from autograder.sandbox import NOBODY, Sandbox

    isolation = isolation_or_skip(mode)
    limits = Limits(time_seconds=30, processes=24)
    before = held_leases()
    with Sandbox({"a.py": FORKER}, isolation) as first, Sandbox({"b.py": FORKER}, isolation) as second:
        assert first.uid != second.uid and {first.uid, second.uid} <= set(range(NOBODY - 63, NOBODY + 1))
        assert held_leases() - before == {first.uid, second.uid}  # each leased here, so by no other grading
        assert f"uid {second.uid}" in second.describe()
        with first.session(limits) as one, second.session(limits) as two:
            assert Student(one).call("start", 15) == 15
            assert Student(two).call("start", 15) == 15  # 30 processes of one uid would pass the limit of 24
    assert held_leases() == before  # leases end with their sandbox


DRAWS = '''
import random
import numpy as np
import torch

AT_IMPORT = torch.rand(2).tolist()

def draws():
    return [AT_IMPORT, torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]]
'''


@pytest.mark.parametrize("mode", ["bubblewrap", "fallback"])
def test_every_session_starts_from_seed_0_whatever_the_last_one_drew(mode):
    """Same input, same grade: each session's torch, numpy and random draw what seed 0 gives, at
    import and after, however much an earlier session of the same sandbox drew."""
    import random

    import numpy as np

    from autograder.checking.student import Student
    from autograder.config import Limits
    from autograder.sandbox import Sandbox

    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    at_import = torch.rand(2).tolist()
    expected = [at_import, torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]]
    with Sandbox({"draws.py": DRAWS}, isolation_or_skip(mode)) as sandbox:
        for _ in range(2):
            with sandbox.session(Limits(time_seconds=30)) as session:
                student = Student(session)
                assert student.call("draws") == expected
                assert student.call("draws")[1:] != expected[1:]  # the draws go on within a session
