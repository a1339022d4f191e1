"""Real sandboxes: the submission calls a grader-side function through the pipe, and sandboxes
running at once each lease a uid of their own."""
import os

import pytest
import torch

pytestmark = pytest.mark.e2e


CALLER = '''


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
