"""Worker processes that run one task at a time, each stopped if it takes longer than a cap.

Why not ``concurrent.futures``: a pool there cannot stop one stuck task (killing its worker
breaks the whole pool), and one task that kills its worker fails every task queued behind it.
Here a worker that overruns the cap or dies costs only its own task, which is reported as a
failure, and a fresh worker takes its place.

Workers are started with the *spawn* method: the parent may have imported torch, and a process
that has run torch must not be forked. They ignore Ctrl-C; the parent stops them instead.
"""
from __future__ import annotations

import enum
import importlib
import logging
import multiprocessing
import signal
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Deque, List, Optional, Tuple

from autograder.errors import AutograderError

LOG = logging.getLogger(__name__)
START_SECONDS = 300.0  # a worker imports torch and the grader: slow on a loaded machine, not this slow


class PoolError(AutograderError):
    """The workers cannot start at all (the set-up is broken, not any one task)."""


@dataclass(frozen=True)
class Failure:
    """A task that did not return: why, in one line for staff."""

    reason: str
    seconds: float = 0.0  # how long it ran before it failed
    overran: bool = False  # stopped at the cap (rather than died or raised)


def _serve(conn: Connection, factory: str, init: Any) -> None:
    """A worker's life: build the handler once, then answer one task at a time until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    module, name = factory.split(":")
    handle = getattr(importlib.import_module(module), name)(init)
    conn.send(("ready", None, None))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        key, payload = task
        try:
            conn.send(("done", key, handle(payload)))
        except Exception:  # noqa: BLE001 - the task's failure is reported, the worker serves on
            conn.send(("failed", key, traceback.format_exc(limit=8)))


class _Ending(enum.Enum):
    """Why a worker is replaced."""

    DIED = "died"
    OVERRAN = "overran"


@dataclass
class _Worker:
    process: Any
    conn: Connection
    born: float
    ready: bool = False
    task: Optional[Tuple[str, Any]] = None
    given: float = 0.0

    def give(self, task: Tuple[str, Any]) -> None:
        self.task, self.given = task, time.monotonic()
        self.conn.send(task)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(10)
        self.kill()


@dataclass
class Pool:
    """``jobs`` workers, each running ``factory(init)(payload)`` for one task at a time.

    ``factory`` is "module:function", importable in a fresh interpreter; payloads, ``init`` and
    results must pickle (plain data).
    """

    factory: str
    init: Any
    jobs: int
    cap_seconds: float
    _workers: List[_Worker] = field(default_factory=list)

    def _spawn(self) -> _Worker:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, self.factory, self.init), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent, time.monotonic())

    def run(self, tasks: List[Tuple[str, Any]], on_result: Callable[[str, Any], None]) -> None:
        """Run every (key, payload); ``on_result(key, result or Failure)`` once per task, as each ends."""
        pending: Deque[Tuple[str, Any]] = deque(tasks)
        try:
            self._workers = [self._spawn() for _ in range(min(self.jobs, len(tasks)))]
            while pending or any(w.task is not None for w in self._workers):
                for worker in self._workers:
                    if worker.ready and worker.task is None and pending:
                        worker.give(pending.popleft())
                wait([w.conn for w in self._workers] + [w.process.sentinel for w in self._workers], timeout=1.0)
                for worker in list(self._workers):
                    ending = self._collect(worker, on_result)
                    if ending is not None:
                        self._workers.remove(worker)
                        self._retire(worker, ending, on_result)
                        if pending:
                            self._workers.append(self._spawn())
        finally:
            for worker in self._workers:
                if worker.ready and worker.task is None:
                    worker.stop()
                else:
                    worker.kill()
            self._workers = []

    def _collect(self, worker: _Worker, on_result: Callable[[str, Any], None]) -> Optional[_Ending]:
        """Take what ``worker`` sent; why it must be replaced, or None while it is healthy.

        A worker that dies closes its pipe before the operating system reports it gone, so a
        closed pipe counts as a death on its own; only a live worker past the cap has overrun.
        """
        try:
            while worker.conn.poll():
                kind, key, value = worker.conn.recv()
                if kind == "ready":
                    worker.ready = True
                elif worker.task is not None and key == worker.task[0]:
                    worker.task = None
                    if kind == "failed":
                        LOG.warning("task %r failed in the worker:\n%s", key, value)  # %r: the key may be a file name
                        value = Failure(f"the grader raised: {value.strip().splitlines()[-1]}", time.monotonic() - worker.given)
                    on_result(key, value)
        except (EOFError, OSError):
            return _Ending.DIED
        if not worker.process.is_alive():
            return _Ending.DIED
        if worker.task is not None and time.monotonic() - worker.given > self.cap_seconds:
            return _Ending.OVERRAN
        if not worker.ready and time.monotonic() - worker.born > START_SECONDS:
            raise PoolError(f"a worker process did not start within {START_SECONDS:g} s")
        return None

    def _retire(self, worker: _Worker, ending: _Ending, on_result: Callable[[str, Any], None]) -> None:
        """Stop a dead or overrunning worker and report its task as failed."""
        seconds = time.monotonic() - worker.given
        if ending is _Ending.DIED:
            worker.process.join(5)  # let it finish exiting, so its own exit code is the one reported
        worker.kill()  # joins, so the exit code is known from here on
        if not worker.ready:
            raise PoolError(f"a worker process exited while starting (exit code {worker.process.exitcode}); run with -v to see why")
        if worker.task is not None:
            if ending is _Ending.OVERRAN:
                reason = f"stopped: grading took longer than the cap of {self.cap_seconds:g} s"
            else:
                reason = f"the grading process died (exit code {worker.process.exitcode})"
            on_result(worker.task[0], Failure(reason, seconds, ending is _Ending.OVERRAN))
