"""The untrusted side: a fork server that runs submission code on the grader's requests.

It runs inside the sandbox with only this file, ``wire.py``, the Python installation and the
submission in view. It is started once per submission and pays the cost of importing torch
once; for every problem it forks a *session* that imports the submission afresh under that
problem's resource limits, so that a crash, a leak or a monkeypatch in one problem cannot reach
another. The fork server relays whole frames between the grader and the live session and reports
how a session ended, so a session that dies mid-frame never corrupts the stream.

Requests arrive on fd 3 and answers leave on fd 4; fds 1 and 2 belong to the submission.
"""
from __future__ import annotations

import importlib.util
import os
import random
import resource
import select
import signal
import sys
import traceback
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402  (preloaded here so that every session inherits it)
import torch  # noqa: E402

import wire  # noqa: E402

REQUEST_FD, ANSWER_FD = 3, 4
MODULE_NAME = "submission"
OUTPUT_PATH = "/tmp/submission-output.txt"
OUTPUT_TAIL = 2000
_OUTPUT = [OUTPUT_PATH]  # where the live session's stdout and stderr go (set per fork)

torch.set_num_threads(1)  # deterministic reductions; the container has half a CPU anyway


def _warm_up() -> None:
    """Run each kind of operation once before forking, so that sessions do not each pay for
    torch's lazy first-call set-up (kernels, allocator). One thread: no pool to break on fork."""
    x = torch.randn(2, 3, 4)
    layer = torch.nn.Sequential(torch.nn.LayerNorm(4), torch.nn.Linear(4, 4), torch.nn.GELU())
    scores = (layer(x) @ x.transpose(-2, -1)).masked_fill(torch.tril(torch.ones(3, 3)) == 0, float("-inf"))
    torch.softmax(scores, dim=-1).sum().item()
    torch.nn.Conv2d(1, 2, 2, stride=2)(torch.randn(1, 1, 4, 4)).permute(0, 2, 3, 1).reshape(1, 4, 2)
    torch.nn.Embedding(5, 4)(torch.tensor([[0, 1]])).cumsum(-1).sort(descending=True)
    torch.nn.functional.cross_entropy(torch.randn(3, 5), torch.tensor([0, 1, 2]), reduction="none")
    torch.multinomial(torch.softmax(torch.randn(5), -1), 1)
    with torch.no_grad():
        torch.nn.Linear(4, 4).load_state_dict(torch.nn.Linear(4, 4).state_dict())


def _error(kind: str, message: str, trace: str = "") -> Dict[str, Any]:
    return {"error": {"type": kind, "message": message[:2000], "traceback": trace[-4000:]}}


def _student_traceback(exc: BaseException, path: str) -> str:
    """The traceback lines that point into the submission, the only ones a student can act on."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    lines = traceback.format_list(frames[-6:])
    return "".join(lines) + f"{type(exc).__name__}: {exc}"[:1000]


class Session:
    """One problem's run: the submission module, the objects made so far, and the request loop."""

    def __init__(self, path: str):
        self.path = path
        self.module: Any = None
        self.objects: List[Any] = []

    def store(self, obj: Any) -> int:
        self.objects.append(obj)
        return len(self.objects) - 1

    def resolve(self, ident: int) -> Any:
        if not 0 <= ident < len(self.objects):
            raise wire.WireError(f"no object {ident}")
        return self.objects[ident]

    def load(self) -> Dict[str, Any]:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, self.path)
        if spec is None or spec.loader is None:
            return _error("ImportError", f"cannot load {os.path.basename(self.path)}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            return _error("SyntaxError", f"line {exc.lineno}: {exc.msg}", f"{exc.text or ''}".rstrip())
        except BaseException as exc:  # noqa: B036 - the submission may raise SystemExit or anything
            return _error(type(exc).__name__, str(exc), _student_traceback(exc, self.path))
        self.module = module
        return {"ok": wire.encode(sorted(n for n in vars(module) if not n.startswith("_")))}

    def target(self, request: Dict[str, Any]) -> Any:
        if "handle" in request:
            obj = self.resolve(int(request["handle"]))
        else:
            name = str(request["symbol"])
            if not hasattr(self.module, name):
                raise LookupError(f"the submission defines no name {name!r}")
            obj = getattr(self.module, name)
        for part in filter(None, str(request.get("path", "")).split(".")):
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        return obj

    def arguments(self, request: Dict[str, Any]) -> tuple:
        args = [wire.decode(a, self.resolve) for a in request.get("args", [])]
        kwargs = {str(k): wire.decode(v, self.resolve) for k, v in request.get("kwargs", {}).items()}
        return args, kwargs

    def handle(self, request: Dict[str, Any]) -> Dict[str, Any]:
        op = request.get("op")
        try:
            if op == "seed":
                seed = int(request["seed"])
                torch.manual_seed(seed)
                np.random.seed(seed)
                random.seed(seed)
                return {"ok": wire.encode(None)}
            obj = self.target(request)
            args, kwargs = self.arguments(request)
            with torch.set_grad_enabled(bool(request.get("grad", False))):
                if op == "call":
                    result = obj(*args, **kwargs)
                elif op == "repeat":  # many draws of a sampler in one round trip
                    result = []
                    for _ in range(min(int(request.get("times", 1)), 100_000)):
                        # Fresh arguments every time, as in a real generation loop: a function
                        # that edits its input in place must not see its own edits next time.
                        args, kwargs = self.arguments(request)
                        result.append(obj(*args, **kwargs))
                elif op == "get":
                    result = obj
                elif op == "load_state":
                    missing, unexpected = obj.load_state_dict(args[0], strict=bool(request.get("strict", True)))
                    result = (list(missing), list(unexpected))
                elif op == "state":
                    result = {str(k): v for k, v in obj.state_dict().items()}
                else:
                    return _error("ProtocolError", f"unknown op {op!r}")
            return {"ok": wire.encode(result, self.store)}
        except wire.WireError as exc:
            return _error("UnsupportedValue", str(exc))
        except BaseException as exc:  # noqa: B036 - anything the submission raises is an answer
            return _error(type(exc).__name__, wire._safe_repr(exc) if not str(exc) else str(exc), _student_traceback(exc, self.path))


def _apply_limits(limits: Dict[str, int]) -> None:
    memory = int(limits.get("memory_mb", 2048)) * 1024 * 1024
    cpu = int(limits.get("cpu_seconds", 60))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    files = int(limits.get("file_mb", 16)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
    procs = int(limits.get("processes", 32))
    resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_session(request: Dict[str, Any], rfd: int, wfd: int) -> None:
    """In the forked child: limits, output capture, import, then answer until told to end."""
    os.setsid()  # its own process group, so the fork server can end it and all it started
    _apply_limits(dict(request.get("limits", {})))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing
    out = os.open(_OUTPUT[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    session = Session(str(request["path"]))
    session.handle({"op": "seed", "seed": 0})  # same input, same grade: no entropy from the OS
    wire.write_frame(wfd, session.load())
    while True:
        message = wire.read_frame(rfd)
        if message is None or message.get("op") == "end":
            break
        wire.write_frame(wfd, session.handle(message))
    os._exit(0)


def _output_tail() -> str:
    try:
        with open(_OUTPUT[0], "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - OUTPUT_TAIL))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _cleanup(pid: int) -> None:
    """Kill what is left of a session: its group and, in a pid namespace, everything else."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if os.getpid() == 2:  # bubblewrap's pid namespace: we are the only process to keep
        try:
            os.kill(-1, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    while True:  # reap the session and anything it started that was re-parented to us
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                break
        except ChildProcessError:
            break


def _ended(status: int) -> Dict[str, Any]:
    return {"exit": {"code": os.waitstatus_to_exitcode(status), "output": _output_tail()}}


def _forward_answer(from_child: int) -> bool:
    """Pass one whole frame from the session to the grader; False when the session is gone."""
    try:
        answer = wire.read_frame(from_child)
    except wire.WireError:
        answer = None
    if answer is None:
        return False
    wire.write_frame(ANSWER_FD, answer)
    return True


def _relay(pid: int, to_child: int, from_child: int) -> None:
    """Pass whole frames both ways until the session ends, then say how it ended."""
    status: Optional[int] = None
    while status is None:
        ready, _, _ = select.select([REQUEST_FD, from_child], [], [], 0.05)
        if REQUEST_FD in ready:
            message = wire.read_frame(REQUEST_FD)
            if message is None:  # the grader is gone: nothing left to do
                _cleanup(pid)
                os._exit(0)
            if message.get("op") == "kill":
                os.killpg(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            try:
                wire.write_frame(to_child, message)
            except OSError:
                pass  # the session died; its exit is reported below
        if from_child in ready and _forward_answer(from_child):
            continue
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            while select.select([from_child], [], [], 0)[0] and _forward_answer(from_child):
                pass  # what the session wrote before it exited still reaches the grader
            status = raw
        elif from_child in ready:  # its end of the pipe closed while it lives on: stop it
            os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    _cleanup(pid)
    os.close(to_child)
    os.close(from_child)
    wire.write_frame(ANSWER_FD, _ended(status))


def _preload(modules: List[str]) -> List[str]:
    """Import, once for all sessions, the modules the assignment's own code imports (nltk, ...)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module missing here is the submission's to report
            failed.append(name)
    return failed


def main() -> None:
    _warm_up()
    wire.write_frame(ANSWER_FD, {"ok": {"python": sys.version.split()[0], "torch": torch.__version__}})
    while True:
        request = wire.read_frame(REQUEST_FD)
        if request is None:
            return
        if request.get("op") == "preload":
            wire.write_frame(ANSWER_FD, {"ok": wire.encode(_preload([str(m) for m in request.get("modules", [])]))})
            continue
        if request.get("op") != "fork":
            wire.write_frame(ANSWER_FD, _error("ProtocolError", "expected a fork request"))
            continue
        _OUTPUT[0] = str(request.get("output", OUTPUT_PATH))
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                for fd in (to_child_w, from_child_r, REQUEST_FD, ANSWER_FD):
                    os.close(fd)  # the session must not touch the grader's own stream
                _run_session(request, to_child_r, from_child_w)
            finally:
                os._exit(70)
        os.close(to_child_r)
        os.close(from_child_w)
        _relay(pid, to_child_w, from_child_r)


if __name__ == "__main__":
    main()
