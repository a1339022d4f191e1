"""The text report of a mutation run: per-problem figures, then every survivor with its diff."""
from __future__ import annotations

from typing import List

from autograder.staff.mutate import record as record_mod
from autograder.staff.mutate.equivalents import FILE_NAME
from autograder.staff.mutate.run import Run


def _table(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def text(run: Run) -> str:
    a = run.assignment.id
    out = [f"mutation run of {a}: {len(run.outcomes)} mutants in {run.seconds:.0f} s", ""]
    rows = [["problem", "generated", "killed", "survived", "equivalent", "crashed", "errors", "score"]]
    for problem in run.problems:
        entry = run.record["problems"][problem]
        s = record_mod.score(entry["mutants"], run.accepted)
        rows.append([problem, str(s.generated), str(s.killed), str(s.survived), str(s.equivalent), str(s.crashed), str(s.errors), s.percent()])
    out += [_table(rows), "", record_mod.DEFINITION + "."]
    survivors = [o for o in run.outcomes if o.status == "survived" and o.mutant.id not in run.accepted]
    if survivors:
        out += ["", f"{len(survivors)} survivor(s) with full marks: each is a gap in the hidden tests, or equivalent to the reference "
                f"(then add its id with a reason to assignments/{a}/{FILE_NAME}):"]
        for o in survivors:
            m = o.mutant
            out += ["", f"{m.id}  solutions/{m.file}:{m.line} in {m.function}: {m.what}", m.diff.rstrip()]
    wrong = [o.mutant.id for o in run.outcomes if o.status == "killed" and o.mutant.id in run.accepted]
    if wrong:
        out += ["", f"accepted as equivalent in {FILE_NAME}, yet killed (so not equivalent; remove them): {', '.join(wrong)}"]
    ran = {o.mutant.id for o in run.outcomes}
    unmatched = sorted(i for i in run.accepted if i.split(".")[0] in run.problems and i not in ran)
    if unmatched:
        out += ["", f"entries of {FILE_NAME} that no mutant of this run has (the line changed, or --max-per-problem left it out): {', '.join(unmatched)}"]
    errors = [o for o in run.outcomes if o.status == "error"]
    for o in errors:
        out.append(f"grading failed for {o.mutant.id}: {o.detail}")
    for skipped in run.skipped:
        out.append(f"not mutated: the region of {skipped.function} (solutions/{skipped.file}:{skipped.line}) belongs to no problem of {a}")
    return "\n".join(out)
