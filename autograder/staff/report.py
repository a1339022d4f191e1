"""The class report of a regrade: one self-contained HTML page, viewable offline, no script.

What staff want to know after a deadline: how scores are distributed, which problems the class
got right, which checks fail most often among problems that were attempted (each check's
failures grouped by distinct message, with counts, so the causes are visible), which problems
were left as stubs, which uploads could not be graded and why, and how long grading took. Plots are PNG images made with matplotlib's Agg backend
and embedded as data URLs; the page loads nothing from anywhere.

Anonymised: no submission id, name, e-mail or student id appears in it. Example messages come
from the grader but quote what the submission printed or wrote (its file name, its output, the
source line of a syntax error), so every identifier of every submission is replaced in them.
"""
from __future__ import annotations

import base64
import html
import io
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from autograder.grade.outcome import GRADED, NOT_ATTEMPTED
from autograder.staff.state import Outcome, State

ANONYMOUS = "<student>"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
EXAMPLE_CHARS = 1200
TOP_CHECKS = 10
MESSAGES_PER_CHECK = 5
LABEL_CHARS = 48


@dataclass(frozen=True)
class FailingCheck:
    problem: str
    name: str
    failures: int
    graded: int  # submissions that attempted the check's problem
    messages: Tuple[Tuple[str, int], ...]  # distinct messages (anonymised) with their counts, most frequent first

    @property
    def label(self) -> str:
        """The check's name for a chart's axis: problem and check, shortened."""
        text = f"{self.problem}: {self.name}"
        return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "\u2026"


# ---------------------------------------------------------------------------------------------
# Anonymising


def identifiers(outcomes: Sequence[Outcome]) -> List[str]:
    """Every string that could name a student: ids, names (and their parts), e-mails, student ids."""
    found: List[str] = []
    for outcome in outcomes:
        found.append(outcome.id)
        for person in outcome.submitters:
            found += [person.name, person.email, person.sid, person.email.split("@")[0]] + person.name.split()
    return sorted({text.strip() for text in found if len(text.strip()) >= 3}, key=lambda t: (-len(t), t))


def anonymiser(outcomes: Sequence[Outcome]) -> Callable[[str], str]:
    """A function that replaces every identifier of every submission (whole words, any case)."""
    names = identifiers(outcomes)
    pattern = None
    if names:
        pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z0-9])", re.IGNORECASE)

    def scrub(text: str) -> str:
        text = EMAIL.sub("<email>", text)
        return pattern.sub(ANONYMOUS, text) if pattern is not None else text

    return scrub


# ---------------------------------------------------------------------------------------------
# Figures


def _shorten(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "\n[...]"


def failing_checks(state: State, outcomes: Sequence[Outcome], scrub: Callable[[str], str]) -> List[FailingCheck]:
    """Checks by how many submissions that attempted their problem failed them, each with its
    distinct messages. Problems left as stubs (``Outcome.unfinished``) are not counted here: they
    would fill the list with NotImplementedError and hide the real mistakes."""
    messages: Dict[tuple, Dict[str, int]] = {}
    attempted: Dict[str, int] = {}
    for outcome in (o for o in outcomes if o.status == GRADED):
        problems_seen = set()
        for test in state.results(outcome.id).get("tests", []):
            problem = (test.get("tags") or ["?"])[0]
            if problem in outcome.unfinished:
                continue
            if problem not in problems_seen:
                problems_seen.add(problem)
                attempted[problem] = attempted.get(problem, 0) + 1
            if test.get("status") != "failed":
                continue
            key = (problem, str(test.get("name", "?")))
            text = _shorten(scrub(str(test.get("output", ""))))
            by_text = messages.setdefault(key, {})
            by_text[text] = by_text.get(text, 0) + 1
    counts = {key: sum(by_text.values()) for key, by_text in messages.items()}
    ranked = sorted(counts, key=lambda k: (-counts[k], k))[:TOP_CHECKS]
    return [
        FailingCheck(k[0], k[1], counts[k], attempted.get(k[0], 0), tuple(sorted(messages[k].items(), key=lambda item: (-item[1], item[0]))))
        for k in ranked
    ]


def unfinished_problems(outcomes: Sequence[Outcome], problems: Sequence[Dict[str, Any]]) -> List[Tuple[str, int]]:
    """(problem id, submissions that left it as a stub), among the submissions that were run."""
    ran = [o for o in outcomes if o.status in (GRADED, NOT_ATTEMPTED)]
    return [(p["id"], sum(p["id"] in o.unfinished for o in ran)) for p in problems]


def _figure(width: float = 7.0, height: float = 3.2) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", metadata={"Software": None})  # no version stamp: same input, same bytes
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_scores(totals: List[float], max_points: float) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    if totals:
        bins = [i * max_points / 20 for i in range(21)]
        ax.hist(totals, bins=bins, color="#4477aa", edgecolor="white")
        ax.axvline(statistics.mean(totals), color="#cc6677", linestyle="--", label=f"mean {statistics.mean(totals):.1f}")
        ax.axvline(statistics.median(totals), color="#228833", linestyle=":", label=f"median {statistics.median(totals):.1f}")
        ax.legend()
        ax.set_xlim(0, max_points)
    else:
        _empty(ax, "no graded submission")
    ax.set_xlabel(f"total score (of {max_points:g})")
    ax.set_ylabel("submissions")
    ax.set_title("Score distribution")
    return _png(fig)


def plot_pass_rates(problems: List[Dict[str, Any]], graded: List[Outcome]) -> str:
    fig = _figure(7.0, 0.45 * len(problems) + 1.4)
    ax = fig.add_subplot()
    labels = [p["id"] for p in problems]
    if graded:
        full = [sum(o.scores.get(p["id"], 0) >= p["points"] - 1e-9 for o in graded) / len(graded) for p in problems]
        mean = [statistics.mean(o.scores.get(p["id"], 0) for o in graded) / p["points"] for p in problems]
        rows = range(len(problems))
        ax.barh([r + 0.2 for r in rows], full, height=0.4, color="#4477aa", label="full marks")
        ax.barh([r - 0.2 for r in rows], mean, height=0.4, color="#ccbb44", label="mean share of points")
        ax.set_yticks(list(rows), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.legend(loc="lower right")
    else:
        _empty(ax, "no graded submission")
    ax.set_xlabel("share of graded submissions")
    ax.set_title("Per-problem pass rates")
    return _png(fig)


def plot_failing(checks: List[FailingCheck]) -> str:
    fig = _figure(7.0, 0.4 * max(len(checks), 1) + 1.4)
    ax = fig.add_subplot()
    if checks:
        ax.barh(range(len(checks)), [c.failures for c in checks], color="#cc6677")
        ax.set_yticks(range(len(checks)), [c.label for c in checks], fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.get_major_locator().set_params(integer=True)
    else:
        _empty(ax, "no check failed")
    ax.set_xlabel("submissions that fail it (of those that attempted the problem)")
    ax.set_title("Most frequent failing checks")
    return _png(fig)


def plot_times(seconds: List[float]) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    if seconds:
        ordered = sorted(seconds, reverse=True)
        ax.bar(range(1, len(ordered) + 1), ordered, color="#66ccee", width=1.0, edgecolor="white" if len(ordered) < 60 else None)
        ax.axhline(statistics.median(ordered), color="#cc6677", linestyle="--", label=f"median {statistics.median(ordered):.1f} s")
        ax.legend()
    else:
        _empty(ax, "nothing was graded")
    ax.set_xlabel("submissions, slowest first")
    ax.set_ylabel("seconds")
    ax.set_title("Grading time per submission (sandbox start-up included)")
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# The page


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.n { text-align: right; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-size: 0.85em; }
img { max-width: 100%; display: block; margin: 1em 0; }
table.messages td { border: none; border-top: 1px solid #eee; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  h2 { break-after: avoid; }
  img, tr { break-inside: avoid; }
  pre { font-size: 8pt; }
}
"""


def _img(ident: str, png: str, alt: str) -> str:
    return f'<img id="{ident}" class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'


def _table(header: List[str], rows: List[List[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header) if header else ""
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _messages(check: FailingCheck) -> str:
    """A check's distinct messages with their counts, the most frequent first (a few, then how many more)."""
    rows = [[str(n), f"<pre>{html.escape(text)}</pre>"] for text, n in check.messages[:MESSAGES_PER_CHECK]]
    rest = check.messages[MESSAGES_PER_CHECK:]
    if rest:
        rows.append([str(sum(n for _, n in rest)), f"<em>{len(rest)} other distinct message(s)</em>"])
    return _table([], rows, numeric=(0,)).replace("<table>", '<table class="messages">', 1)


def _first_message(state: State, outcome: Outcome, scrub: Callable[[str], str]) -> str:
    """Why an upload could not run (a syntax error, an empty file): the first test's message."""
    tests = state.results(outcome.id).get("tests", [])
    return _shorten(scrub(str(tests[0].get("output", "")))) if tests else ""


def render(state: State, outcomes: Optional[List[Outcome]] = None) -> str:
    """The report as HTML text; ``outcomes`` defaults to everything in the state folder."""
    described = state.describe()
    problems: List[Dict[str, Any]] = described["problems"]
    max_points = sum(float(p["points"]) for p in problems)
    outcomes = sorted(outcomes if outcomes is not None else state.outcomes(), key=lambda o: o.id)
    scrub = anonymiser(outcomes)
    graded = [o for o in outcomes if not o.error]
    ran = [o for o in outcomes if o.status == GRADED]
    not_attempted = [o for o in outcomes if o.status == NOT_ATTEMPTED]
    failed = [o for o in outcomes if o.status not in (GRADED, NOT_ATTEMPTED)]
    totals = [o.total or 0.0 for o in graded]
    checks = failing_checks(state, outcomes, scrub)
    seconds = [o.seconds for o in outcomes if o.seconds > 0]
    esc = html.escape

    summary = [
        ["submissions", str(len(outcomes))],
        ["graded", str(len(ran))],
        ["not attempted (every problem still a stub)", str(len(not_attempted))],
        ["could not be graded (see the last section)", str(len(failed))],
    ]
    if totals:
        summary += [
            ["mean / median", f"{statistics.mean(totals):.2f} / {statistics.median(totals):.2f} of {max_points:g}"],
            ["min / max", f"{min(totals):g} / {max(totals):g}"],
            ["full marks", str(sum(t >= max_points - 1e-9 for t in totals))],
            ["zero", str(sum(t <= 1e-9 for t in totals))],
        ]
    if seconds:
        summary.append(["grading time: median / max / sum", f"{statistics.median(seconds):.1f} s / {max(seconds):.1f} s / {sum(seconds):.0f} s"])
    problem_rows = []
    for p in problems:
        scores = [o.scores.get(p["id"], 0.0) for o in graded]
        full = sum(s >= p["points"] - 1e-9 for s in scores)
        problem_rows.append([
            esc(p["id"]), esc(p["title"]), f"{p['points']:g}",
            f"{statistics.mean(scores):.2f}" if scores else "-",
            f"{full / len(scores):.0%}" if scores else "-",
        ])
    check_rows = [
        [esc(c.problem), esc(c.name), f"{c.failures} of {c.graded} ({c.failures / max(c.graded, 1):.0%})", _messages(c)]
        for c in checks
    ]
    stub_rows = [[esc(pid), str(n)] for pid, n in unfinished_problems(outcomes, problems) if n]
    reasons: Dict[tuple, int] = {}
    for o in failed:
        key = (o.status, scrub(o.error) or _first_message(state, o, scrub))
        reasons[key] = reasons.get(key, 0) + 1
    error_rows = [[esc(k[0]), f"<pre>{esc(k[1])}</pre>", str(n)] for k, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))]

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Class report: {esc(described['title'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Class report: {esc(described['title'])}</h1>",
        f"<p>Assignment <code>{esc(described['assignment'])}</code>. Anonymised: no submission id, name, e-mail or "
        f"student id appears on this page (they are replaced by <code>{esc(ANONYMOUS)}</code> in messages).</p>",
        _table([], [[esc(a), esc(b)] for a, b in summary], numeric=(1,)),
        "<h2>Score distribution</h2>",
        _img("plot-scores", plot_scores(totals, max_points), "histogram of total scores"),
        "<h2>Per-problem pass rates</h2>",
        _img("plot-problems", plot_pass_rates(problems, graded), "per problem: share with full marks and mean share of points"),
        _table(["problem", "title", "points", "mean", "full marks"], problem_rows, numeric=(2, 3, 4)),
        "<h2>Most frequent failing checks</h2>",
        "<p>Among the submissions that attempted the check's problem (problems left as stubs are counted in the next section). "
        "Each check's failures are grouped by distinct message (anonymised).</p>",
        _img("plot-checks", plot_failing(checks), "failures per check: " + "; ".join(c.label for c in checks)),
        _table(["problem", "check", "failed by", "messages (how many submissions got each)"], check_rows, numeric=(2,))
        if check_rows else "<p>No check failed.</p>",
        "<h2>Not attempted</h2>",
        _table(["problem", "submissions that left it as a stub (NotImplementedError)"], stub_rows, numeric=(1,))
        if stub_rows else "<p>Every submission that ran wrote every problem.</p>",
        "<h2>Grading time per submission</h2>",
        _img("plot-times", plot_times(seconds), "grading time per submission, slowest first"),
    ]
    if error_rows:
        parts += ["<h2>Not graded</h2>", _table(["status", "reason", "submissions"], error_rows, numeric=(2,))]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write(state: State, path: Path, outcomes: Optional[List[Outcome]] = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(render(state, outcomes), encoding="utf-8")
    temporary.replace(path)
