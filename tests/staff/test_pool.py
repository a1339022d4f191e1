"""The worker pool: a task that kills, hangs or raises in its worker costs only that task."""
import os
import time

import pytest

from autograder.staff.pool import Failure, Pool

pytestmark = pytest.mark.unit


def misbehaving_handler(_init):
    """A pool task handler (imported by name in the spawned workers) that dies, hangs or raises on demand."""

    def handle(payload):
        if payload == "die":
            os._exit(3)
        if payload == "hang":
            time.sleep(600)
        if payload == "raise":
            raise ValueError("boom")
        return payload * 2

    return handle


def test_pool_survives_a_task_that_kills_hangs_or_raises_in_its_worker():
    results = {}
    tasks = [("a", 1), ("die", "die"), ("hang", "hang"), ("raise", "raise"), ("b", 2), ("c", 3)]
    Pool("test_pool:misbehaving_handler", None, jobs=2, cap_seconds=3).run(tasks, results.__setitem__)
    assert {k: results[k] for k in "abc"} == {"a": 2, "b": 4, "c": 6}
    assert all(isinstance(results[k], Failure) for k in ("die", "hang", "raise"))
    assert "died (exit code 3)" in results["die"].reason
    assert "longer than the cap of 3 s" in results["hang"].reason and results["hang"].seconds >= 3
    assert "ValueError: boom" in results["raise"].reason
