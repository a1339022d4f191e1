"""otter-grader 7.0.0 against our grader on the same three hw3 problems (``benchmark.py --otter``).

The otter version of Part 2a (AttentionHead), Part 4c (DialogueLoss) and Part 5 (nucleus
sampling) is ``scripts/otter/tests/`` (otter's exception-based test files, about 300 checked
cases, the reference in solutions/ as their oracle). This module:

1. creates, if missing, a virtualenv for otter in ``.bench/otter-venv`` (same base Python as
   ours; otter-grader==7.0.0, ipykernel to run the script in, and our pins of torch, numpy, nltk);
2. builds otter's autograder zip by hand (``tests/``, ``otter_config.json`` and ``files/
   otter_oracle/reference.py``, the merged hw3 reference, which otter copies beside the submission);
3. times, in the same run and interleaved, ``otter run`` grading the hw3 reference and our grader
   narrowed to the same three problems (``autograder grade --problem ...`` in a new interpreter, results
   written, imports included), both as whole process trees (``benchmark.run_tree``).

Standalone: ``.venv/bin/python scripts/otter_benchmark.py [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import config as config_mod  # noqa: E402
from autograder.grade.engine import load_checks, reference_source  # noqa: E402

OTTER_DIR = ROOT / "scripts" / "otter"
VENV = ROOT / ".bench" / "otter-venv"
PROBLEMS = ("attention_head", "nucleus_sampling", "dialogue_loss")
PINS = ["otter-grader==7.0.0", "ipykernel", "torch==2.13.0", "numpy==2.4.6", "nltk==3.10.4"]

# Run in otter's venv, in a folder holding otter_oracle: loads each test file as otter does.
COUNT = """
import json, sys
from otter.test_files import ExceptionTestFile
out = {}
for path in sys.argv[1:]:
    test = ExceptionTestFile.from_file(path)
    namespace = {}
    exec(compile(open(path).read(), path, "exec"), namespace)
    out[test.name] = [len(test.test_cases), namespace["CHECKED_CASES"], sum(c.points for c in test.test_cases)]
print(json.dumps(out))
"""


def ensure_venv() -> Optional[str]:
    """Create otter's virtualenv if it is missing; None when it works, else why not."""
    otter = VENV / "bin" / "otter"
    if not otter.exists():
        print(f"creating {VENV.relative_to(ROOT)} ({', '.join(PINS)}); a few minutes, once")
        base = getattr(sys, "_base_executable", sys.executable)
        made = subprocess.run([base, "-m", "venv", str(VENV)], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            return f"`{base} -m venv` failed: {made.stderr.strip()[-500:]}"
        installed = subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *PINS], capture_output=True, text=True, check=False)
        if installed.returncode != 0:
            return f"pip install {' '.join(PINS)} failed: {installed.stderr.strip()[-1000:]}"
    check = subprocess.run([str(otter), "--version"], capture_output=True, text=True, check=False)
    if check.returncode != 0 or "7.0.0" not in check.stdout:
        return f"{otter} --version: {(check.stdout + check.stderr).strip()[-500:]}"
    return None


def build_zip(cfg: config_mod.Config, folder: Path) -> Path:
    """otter's autograder zip, by hand: tests, config, and the oracle as a support package."""
    path = folder / "autograder.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for test in sorted((OTTER_DIR / "tests").glob("*.py")):
            zf.write(test, f"tests/{test.name}")
        zf.writestr("otter_config.json", json.dumps({"logo": False, "print_summary": False}))
        zf.writestr("files/otter_oracle/__init__.py", "")
        zf.writestr("files/otter_oracle/reference.py", reference_source(cfg, cfg.assignment("hw3")))
    return path


def count_cases(folder: Path) -> dict:
    """{test name: [test cases, checked cases, points]}, by loading the test files as otter does."""
    oracle = folder / "oracle_root"
    (oracle / "otter_oracle").mkdir(parents=True)
    (oracle / "otter_oracle" / "__init__.py").write_text("")
    (oracle / "otter_oracle" / "reference.py").write_text((folder / "submission" / "my_llm_implementation.py").read_text())
    tests = [str(t) for t in sorted((OTTER_DIR / "tests").glob("*.py"))]
    done = subprocess.run([str(VENV / "bin" / "python"), "-c", COUNT, *tests], cwd=oracle, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def otter_score(out_dir: Path) -> str:
    try:
        data = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "?"
    tests = data.get("tests", [])
    score = data.get("score", sum(t.get("score", 0) for t in tests))
    return f"{score:g}/{sum(t.get('max_score', 0) for t in tests):g}"


def compare(cfg: config_mod.Config, repeat: int, use_cgroup: bool, run_tree: Callable[..., object], torch_import: Callable[[bool], object]) -> None:
    print("\n== otter-grader 7.0.0 vs ours: hw3 " + ", ".join(PROBLEMS) + " on the reference ==")
    why = ensure_venv()
    if why is not None:
        print(f"otter cannot run here: {why}")
        return
    assignment = cfg.assignment("hw3")
    with tempfile.TemporaryDirectory(prefix="benchmark-otter-") as tmp:
        folder = Path(tmp)
        (folder / "submission").mkdir()
        submission = folder / "submission" / assignment.upload
        submission.write_text(reference_source(cfg, assignment), encoding="utf-8")
        ag_zip = build_zip(cfg, folder)
        try:
            counts = count_cases(folder)
        except subprocess.CalledProcessError as exc:
            print(f"otter cannot load the test files: {exc.stderr.strip()[-1500:]}")
            return
        total = sum(c[1] for c in counts.values())
        checks = sum(len(found) for pid, found in load_checks(cfg, assignment).items() if pid in PROBLEMS)
        points = sum(p.points for p in assignment.problems if p.id in PROBLEMS)
        print(
            f"otter tests: {total} checked cases in {sum(c[0] for c in counts.values())} test cases ("
            + ", ".join(f"{name} {c[1]}" for name, c in counts.items())
            + f"); ours: {checks} checks, each over up to {max(p.max_examples for p in assignment.problems)} hypothesis examples (fewer for the sampler's)"
        )
        otter_env = dict(os.environ, PATH=f"{VENV / 'bin'}:{os.environ.get('PATH', '')}", VIRTUAL_ENV=str(VENV))
        otter_cmd = [str(VENV / "bin" / "otter"), "run", "-a", str(ag_zip), "-o", str(folder / "otter-out"), "--no-logo", str(submission)]
        # Our grader narrowed to PROBLEMS, in a new interpreter: `autograder grade --problem`.
        narrowing = [arg for pid in PROBLEMS for arg in ("--problem", pid)]
        ours_cmd = [sys.executable, "-m", "autograder", "grade", str(submission), "--assignment", "hw3", "--results", str(folder / "ours.json"), *narrowing]
        (folder / "otter-out").mkdir()
        walls: dict = {"torch": [], "otter": [], "ours": []}
        cpus: dict = {"torch": [], "otter": [], "ours": []}
        scores = {"otter": "?", "ours": "?"}
        run_tree(otter_cmd, use_cgroup, cwd=folder, env=otter_env)  # warm the disk cache
        for _ in range(repeat):
            torch_run = torch_import(use_cgroup)
            walls["torch"].append(torch_run.wall)
            cpus["torch"].append(torch_run.cpu)
            for name, command, env, cwd in (("otter", otter_cmd, otter_env, folder), ("ours", ours_cmd, None, ROOT)):
                run = run_tree(command, use_cgroup, cwd=cwd, env=env)
                if run.returncode != 0:
                    print(f"{name} exited with status {run.returncode}:\n{run.output[-3000:]}")
                    return
                walls[name].append(run.wall)
                cpus[name].append(run.cpu)
                scores[name] = otter_score(folder / "otter-out") if name == "otter" else f"{json.loads((folder / 'ours.json').read_text())['score']:g}/{points:g}"
    wall = {k: statistics.median(v) for k, v in walls.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    print(f"import torch (new interpreter): wall {wall['torch']:.2f} s, CPU {cpu['torch']:.2f} s (median of {repeat})")
    print(f"otter run (no container; a Jupyter kernel runs the script and the tests): {scores['otter']}; wall {wall['otter']:.2f} s, CPU {cpu['otter']:.2f} s of the process tree")
    print(f"ours (`autograder grade --problem ...`, new interpreter, sandboxed): {scores['ours']}; wall {wall['ours']:.2f} s, CPU {cpu['ours']:.2f} s of the process tree")
    speed = wall["otter"] / wall["ours"]
    print(
        f"ours is {speed:.1f}x faster in wall time (goal >= 2x: {'met' if speed >= 2 else 'NOT met'}), "
        f"{cpu['otter'] / cpu['ours']:.1f}x in CPU time"
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import benchmark  # noqa: PLC0415 - scripts/benchmark.py, for its process-tree measurement

    use_cgroup = benchmark.cgroup_works()
    print(f"CPU time of a process tree: {benchmark.CPU_METHOD[use_cgroup]}")
    compare(config_mod.load(ROOT / "grading.toml"), args.repeat, use_cgroup, benchmark.run_tree, benchmark.torch_import)
    return 0


if __name__ == "__main__":
    sys.exit(main())
