"""A thin command line over the Python API.

    python -m autograder build [--assignment NAME]...            release/<assignment>/...
    python -m autograder grade SUBMISSION --assignment NAME --results OUT.json [--problem ID]...
    python -m autograder gradescope [--root /autograder]           (what run_autograder calls)
    python -m autograder corpus --assignment NAME [--problem ID]  verdicts on the mutant corpus
    python -m autograder keys                                      every grading.toml key
    python -m autograder regrade DIR --assignment NAME --out grades.csv [--jobs N] [--report REPORT.html]
    python -m autograder report grades.csv --out REPORT.html        the class report of a regrade
    python -m autograder mutate --assignment NAME [--problem ID] [--jobs N]   the hidden tests' mutation score
    python -m autograder merge SHARD.state... --out grades.csv [--report REPORT.html]   shards of `regrade --shard K/N`
    python -m autograder nbgrader-grades --course release/NAME/nbgrader --out grades.csv     per-problem nbgrader scores
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Dict, List, Optional

from autograder import config as config_mod
from autograder.build.release import build
from autograder.errors import AutograderError
from autograder.grade import results as results_mod
from autograder.grade.engine import grade_source
from autograder.grade.outcome import Grade
from autograder.sandbox import choose_isolation, close_to_others
from autograder.uploads import Upload, UploadError, resolve

LOG = logging.getLogger("autograder")


class UsageError(AutograderError):
    """A command-line argument that cannot work (a results path that is a folder, say)."""


def check_writable(path: Path, option: str) -> None:
    """Fail before any work if ``path`` cannot be written: a folder, or a place without write access."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name, e.g. {path / 'results.json'}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):  # the file is written beside its name, then renamed
        raise UsageError(f"{option} {path}: {parent} is not writable; choose another place")


def write_results(results: dict, path: Path, option: str) -> None:
    """``results_mod.write``, as a plain error (and no stray ``.partial`` file) if it fails."""
    try:
        results_mod.write(results, path)
    except OSError as exc:
        path.with_name(path.name + ".partial").unlink(missing_ok=True)
        raise UsageError(f"{option} {path}: cannot be written ({exc.strerror})") from exc


def _table(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def score_table(title: str, grades: List[tuple], mutation: Optional[Dict[str, str]] = None) -> str:
    """One row per problem, one column per graded upload: ``grades`` is [(label, Grade)];
    ``mutation``, if any, adds the last `mutate` run's score per problem."""
    first: Grade = grades[0][1]
    extra = ["mutation score"] if mutation else []
    rows = [["problem", "points"] + [label for label, _ in grades] + extra]
    for index, result in enumerate(first.problems):
        more = [mutation.get(result.problem.id, "not run")] if mutation else []
        rows.append([result.problem.id, f"{result.problem.points:g}"] + [f"{g.problems[index].score:g}" for _, g in grades] + more)
    rows.append(["total", f"{first.assignment.total_points:g}"] + [f"{g.score:g}" for _, g in grades] + [""] * len(extra))
    note = f"\n{mutation['']}" if mutation and "" in mutation else ""
    return f"{title}\n" + _table(rows) + note


def cmd_build(args: argparse.Namespace) -> int:
    cfg = config_mod.load(args.config)
    isolation = choose_isolation(args.isolation)
    releases = build(cfg, Path(args.out), args.assignment or None, isolation)
    for release in releases:
        reference, blank = release.proof
        print(score_table(f"{release.assignment.id}: proof of the release", [("reference", reference), ("blank stubs", blank)], release.mutation))
        print(f"wrote {Path(args.out) / release.assignment.id}/ (student.zip, autograder.zip, reference/, student/, and nbgrader/ where the assignment has a handout)\n")
    return 0


def narrowed(assignment: config_mod.Assignment, problem_ids: Optional[List[str]]) -> config_mod.Assignment:
    """``assignment`` with only the problems ``problem_ids`` (all of them when None)."""
    if not problem_ids:
        return assignment
    known = [p.id for p in assignment.problems]
    unknown = [pid for pid in problem_ids if pid not in known]
    if unknown:
        raise UsageError(f"--problem {unknown[0]}: {assignment.id} has no such problem; its problems: {', '.join(known)}")
    return dataclasses.replace(assignment, problems=tuple(p for p in assignment.problems if p.id in problem_ids))


def cmd_grade(args: argparse.Namespace) -> int:
    cfg = config_mod.load(args.config)
    assignment = narrowed(cfg.assignment(args.assignment), args.problem)
    results = Path(args.results)
    check_writable(results, "--results")
    upload = resolve(Path(args.submission), assignment.upload, assignment.sources)  # UploadError if there is none
    grade = grade_source(cfg, assignment, upload, choose_isolation(args.isolation))
    write_results(results_mod.to_results(grade), results, "--results")
    for line in grade.staff:
        LOG.info("%s", line)
    print(f"{args.submission}: {grade.score:g}/{assignment.total_points:g} in {grade.seconds:.1f} s -> {args.results}")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    """Grade /autograder/submission into /autograder/results/results.json, whatever happens."""
    root = Path(args.root)
    out = root / "results" / "results.json"
    try:
        source = root / "source"
        cfg = config_mod.load(source / "grading.toml")
        name = args.assignment or (source / "ASSIGNMENT").read_text(encoding="utf-8").strip()
        assignment = cfg.assignment(name)
        isolation = choose_isolation(args.isolation)
        if isolation.mode == "fallback":
            close_to_others([source, root / "results", root / "submission_metadata.json"])
        try:
            upload = resolve(root / "submission", assignment.upload, assignment.sources)
        except UploadError:
            upload = Upload(None, f"nothing was uploaded: upload {assignment.upload}.")
        grade = grade_source(cfg, assignment, upload, isolation)
        results_mod.write(results_mod.to_results(grade), out)
        for line in grade.staff:
            print(line)
        print(f"score {grade.score:g}/{assignment.total_points:g} in {grade.seconds:.1f} s")
    except BaseException:  # noqa: B036 - students always get an answer; staff get the traceback
        traceback.print_exc(file=sys.stdout)
        results_mod.write(results_mod.internal_error_results(), out)
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    """Grade the mutant corpus and print each variant's verdict; status 1 if any is wrong."""
    from autograder.staff import corpus

    cfg = config_mod.load(args.config)
    assignment = cfg.assignment(args.assignment)
    found = corpus.variants(Path(args.corpus) if args.corpus else corpus.folder(cfg, assignment), assignment, args.problem or None)
    verdicts = corpus.run(cfg, assignment, found, choose_isolation(args.isolation), args.jobs, args.problem or None)
    rows = [["variant", "verdict", "own problem", "why"]]
    for v in verdicts:
        score = v.scores.get(v.variant.problem)
        own = f"{'-' if score is None else f'{score:g}'}/{assignment.problem(v.variant.problem).points:g}"
        rows.append([v.variant.label, "ok" if v.ok else "WRONG", own, v.reason])
    print(_table(rows))
    bad = sum(not v.ok for v in verdicts)
    print(f"{len(verdicts) - bad} of {len(verdicts)} variants get the verdict they must")
    return 1 if bad else 0


def cmd_regrade(args: argparse.Namespace) -> int:
    """Grade every submission in a folder into one CSV (resumable); optionally the class report."""
    from autograder.staff import regrade, report, shards, submissions
    from autograder.staff.state import State

    cfg = config_mod.load(args.config)
    assignment = cfg.assignment(args.assignment)
    out = Path(args.out)
    skip = (State.beside(out).folder, out) + ((Path(args.report),) if args.report else ())  # our own output
    found = submissions.find(Path(args.folder), skip)
    shard = shards.parse(args.shard) if args.shard else None
    try:
        batch = regrade.regrade(
            cfg, assignment, found, out, choose_isolation(args.isolation), args.jobs,
            args.submission_timeout, args.fresh, args.retry_errors, shard=shard,
        )
    except regrade.Interrupted as stop:
        print(stop, file=sys.stderr)
        return 130
    errors = sum(bool(o.error) for o in batch.outcomes)
    which = f"shard {shard}: " if shard else ""
    print(f"{which}{len(batch.outcomes)} submissions ({batch.graded} graded now, {batch.resumed} from {batch.state.folder}), {errors} with errors -> {out}")
    if args.report:
        report.write(batch.state, Path(args.report), batch.outcomes)
        print(f"class report -> {args.report}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from autograder.staff import report
    from autograder.staff.state import State

    report.write(State.beside(Path(args.csv)), Path(args.out))
    print(f"class report -> {args.out}")
    return 0


def cmd_mutate(args: argparse.Namespace) -> int:
    """Grade automatic mutants of the solution regions; print per-problem scores and survivors."""
    from autograder.staff.mutate import report, run

    cfg = config_mod.load(args.config)
    assignment = cfg.assignment(args.assignment)
    done = run.mutate(cfg, assignment, choose_isolation(args.isolation), args.problem, args.jobs, args.max_per_problem, args.time_limit)
    print(report.text(done))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Merge the states of `regrade --shard K/N` runs into one CSV (and report), as one run writes them."""
    from autograder.staff import regrade, report, shards
    from autograder.staff.state import State

    cfg = config_mod.load(args.config)
    out = Path(args.out)
    target = State.beside(out)
    outcomes = shards.merge([Path(p) for p in args.states], target)
    described = target.describe()
    assignment = cfg.assignment(described["assignment"])
    if [p.id for p in assignment.problems] != [p["id"] for p in described["problems"]]:
        raise shards.ShardError(f"{args.config}: [assignments.{assignment.id}] lists other problems than the shards were graded on; pass the --config they used")
    regrade.write_csv(outcomes, assignment, out)
    errors = sum(bool(o.error) for o in outcomes)
    print(f"{len(outcomes)} submissions from {len(args.states)} shards, {errors} with errors -> {out} (results in {target.folder})")
    if args.report:
        report.write(target, Path(args.report), outcomes)
        print(f"class report -> {args.report}")
    return 0


def cmd_nbgrader_grades(args: argparse.Namespace) -> int:
    """Per-problem scores from an nbgrader course's gradebook, in the regrade's CSV columns."""
    from autograder.staff import nbgrader_grades, regrade

    cfg = config_mod.load(args.config)
    course = Path(args.course)
    name = args.assignment or _only_source_assignment(course)
    found = nbgrader_grades.outcomes(course, cfg.assignment(name), args.nbgrader_assignment)
    regrade.write_csv(found, cfg.assignment(name), Path(args.out))
    print(f"{len(found)} students of {course / nbgrader_grades.GRADEBOOK} -> {args.out}")
    return 0


def _only_source_assignment(course: Path) -> str:
    from autograder.staff.nbgrader_grades import GradebookError

    found = sorted(p.name for p in (course / "source").glob("*") if p.is_dir()) if (course / "source").is_dir() else []
    if len(found) != 1:
        raise GradebookError(f"{course}: cannot tell the assignment (source/ holds {found or 'nothing'}); pass --assignment NAME")
    return found[0]


def cmd_keys(args: argparse.Namespace) -> int:
    print(config_mod.describe_keys())
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m autograder", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--config", default=None, help="path to grading.toml (default: $AUTOGRADER_CONFIG, else the nearest grading.toml here or above)")
    top.add_argument("-v", "--verbose", action="store_true", help="log what the grader does")
    sub = top.add_subparsers(dest="command", required=True)
    isolation_help = "auto (bubblewrap if it works, else fallback), bubblewrap, or fallback"

    b = sub.add_parser("build", help="build, prove and write every release bundle")
    b.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    b.add_argument("--out", default="release", help="output folder (default: release)")
    b.add_argument("--isolation", default=None, help=isolation_help)
    b.set_defaults(func=cmd_build)

    g = sub.add_parser("grade", help="grade one submission (a file, a folder or a zip)")
    g.add_argument("submission")
    g.add_argument("--assignment", required=True)
    g.add_argument("--results", required=True, help="where to write results.json")
    g.add_argument("--isolation", default=None, help=isolation_help)
    g.add_argument("--problem", action="append", help="grade only this problem (repeatable); the total is then theirs")
    g.set_defaults(func=cmd_grade)

    s = sub.add_parser("gradescope", help="what run_autograder calls inside the container")
    s.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    s.add_argument("--assignment", default=None, help="default: the ASSIGNMENT file beside grading.toml")
    s.add_argument("--isolation", default=None, help=isolation_help)
    s.set_defaults(func=cmd_gradescope)

    c = sub.add_parser("corpus", help="grade the mutant corpus and check every verdict")
    c.add_argument("--assignment", required=True)
    c.add_argument("--corpus", default=None, help="a corpus folder with bugs/ and correct/ (default: assignments/NAME/corpus)")
    c.add_argument("--problem", action="append", help="only variants of this problem (repeatable; grades only those problems, the reference's too)")
    c.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes, as for regrade (default: one per core)")
    c.add_argument("--isolation", default=None, help=isolation_help)
    c.set_defaults(func=cmd_corpus)

    r = sub.add_parser("regrade", help="grade every submission in a folder into one CSV (resumable, in parallel)")
    r.add_argument("folder", help="one submission per subfolder or file, or a Gradescope export (with submission_metadata.yml)")
    r.add_argument("--assignment", required=True)
    r.add_argument("--out", required=True, help="the CSV to write; results per submission are kept in OUT's name + .state/ beside it")
    r.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: one per core)")
    r.add_argument("--report", default=None, help="also write the class report (an HTML page) here")
    r.add_argument("--fresh", action="store_true", help="forget earlier results and regrade everything")
    r.add_argument("--retry-errors", action="store_true", help="regrade the submissions whose earlier grading failed")
    r.add_argument("--submission-timeout", type=float, default=None, help="seconds before one submission is stopped (default: from grading.toml limits)")
    r.add_argument("--isolation", default=None, help=isolation_help)
    r.add_argument("--shard", default=None, metavar="K/N", help="grade only shard K of N (sorted ids, every N-th); combine the shards with `merge`")
    r.set_defaults(func=cmd_regrade)

    m = sub.add_parser("merge", help="combine the states of `regrade --shard K/N` runs into one CSV (and report)")
    m.add_argument("states", nargs="+", help="each shard's .state folder (or the CSV it sits beside)")
    m.add_argument("--out", required=True, help="the merged CSV; the merged results go to OUT's name + .state/ beside it")
    m.add_argument("--report", default=None, help="also write the class report (an HTML page) here")
    m.set_defaults(func=cmd_merge)

    p = sub.add_parser("report", help="write the class report of an earlier regrade")
    p.add_argument("csv", help="the CSV that regrade wrote (its .state/ folder is read)")
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.set_defaults(func=cmd_report)

    m = sub.add_parser("mutate", help="grade automatic mutants of the solutions: how strong are the hidden tests?")
    m.add_argument("--assignment", required=True)
    m.add_argument("--problem", action="append", help="only mutants of this problem (repeatable)")
    m.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sandboxes at once (default: one per core)")
    m.add_argument("--max-per-problem", type=int, default=60, help="at most this many mutants per problem (default: 60)")
    m.add_argument("--time-limit", type=float, default=None, help="seconds per mutant and problem, if lower than grading.toml's (a mutant that overruns counts as killed)")
    m.add_argument("--isolation", default=None, help=isolation_help)
    m.set_defaults(func=cmd_mutate)

    n = sub.add_parser("nbgrader-grades", help="per-problem scores of an nbgrader course (its gradebook) in the regrade's CSV columns")
    n.add_argument("--course", required=True, help="the nbgrader course folder (release/NAME/nbgrader), after `nbgrader autograde`")
    n.add_argument("--out", required=True, help="the CSV to write")
    n.add_argument("--assignment", default=None, help="the grading.toml assignment (default: the one under COURSE/source/)")
    n.add_argument("--nbgrader-assignment", default=None, help="its name in the gradebook (default: the same)")
    n.set_defaults(func=cmd_nbgrader_grades)

    k = sub.add_parser("keys", help="list every grading.toml key with its meaning")
    k.set_defaults(func=cmd_keys)
    return top


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except AutograderError as exc:  # one line and a non-zero status (a SandboxError is one too)
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run() -> None:
    """The process's entry point (``python -m autograder`` and the ``autograder`` script): ``main``,
    then an exit that skips the interpreter's teardown once everything is written and flushed.
    Tearing down a process that imported torch takes 0.7-2 s here, longer than most problems take
    to grade, and nothing is left to do by then: the sandbox is stopped, its folders removed,
    results and CSVs closed. An exception still ends the process the ordinary way."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)

