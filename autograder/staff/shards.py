"""A regrade past one machine: split the submissions into shards, grade each anywhere, merge the states.

    python -m autograder regrade DIR --assignment A --shard 2/3 --out shard-2.csv   # on any machine
    python -m autograder merge shard-1.state shard-2.state shard-3.state --out grades.csv --report report.html

The split is deterministic: submissions sorted by id, the i-th (from 0) goes to shard ``i % N + 1``;
every shard job reads the same folder, so they agree on it without talking to each other. Each
shard's state records which shard it is and the ids it was given; ``merge`` refuses a set of states
that misses a shard, lacks a result, or was graded by different grading set-ups, and otherwise
copies every submission's results into one state folder beside the merged CSV, which is then
exactly the state (and CSV, and report) a single-machine regrade of the whole folder leaves.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence

from autograder.errors import AutograderError
from autograder.staff.state import RESULTS, STATE_FILE, SUMMARY, Outcome, State, folder_name, write_json
from autograder.staff.submissions import Submission

SHARD_KEY = "shard"  # in a shard's state.json: {"index": K, "count": N, "ids": [...]}


class ShardError(AutograderError):
    """A bad --shard value or a set of shard states that cannot be merged; the message says the fix."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as SLURM's and Kubernetes' indices + 1
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> Shard:
    """``K/N`` with 1 <= K <= N."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise ShardError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 1/3 (SLURM: $((SLURM_ARRAY_TASK_ID))/N)")
    return Shard(int(found.group(1)), int(found.group(2)))


def select(submissions: Sequence[Submission], shard: Shard) -> List[Submission]:
    """This shard's submissions: the i-th by sorted id where ``i % count == index - 1``."""
    ordered = sorted(submissions, key=lambda s: s.id)
    return [s for i, s in enumerate(ordered) if i % shard.count == shard.index - 1]


def record(state: State, shard: Shard, chosen: Sequence[Submission]) -> None:
    """Note in the state's ``state.json`` which shard it holds (``merge`` checks it)."""
    path = state.folder / STATE_FILE
    described = json.loads(path.read_text(encoding="utf-8"))
    described[SHARD_KEY] = {"index": shard.index, "count": shard.count, "ids": [s.id for s in chosen]}
    write_json(described, path)


def _state_of(path: Path) -> State:
    """A shard's state folder, given as the folder or as the CSV it sits beside."""
    path = Path(path)
    state = State(path) if path.is_dir() else State.beside(path)
    if not (state.folder / STATE_FILE).is_file():
        raise ShardError(f"{path}: no {STATE_FILE} in {state.folder}; give the .state folder (or the CSV) of a `regrade --shard K/N` run")
    return state


def merge(paths: Sequence[Path], target: State) -> List[Outcome]:
    """Copy the results of every shard state in ``paths`` into ``target``; the outcomes, by id."""
    states = [_state_of(p) for p in paths]
    described: List[Dict[str, Any]] = [s.describe() for s in states]
    first = described[0]
    for state, found in zip(states, described):
        if (found.get("assignment"), found.get("grading"), found.get("problems")) != (first.get("assignment"), first.get("grading"), first.get("problems")):
            raise ShardError(f"{state.folder}: graded with another set-up than {states[0].folder} (assignment, grading.toml, hidden tests or solutions differ); regrade that shard")
        if SHARD_KEY not in found:
            raise ShardError(f"{state.folder}: not a shard (made without --shard K/N); merge only the states of one `regrade --shard` run")
    shards = {(d[SHARD_KEY]["index"], d[SHARD_KEY]["count"]): (s, d[SHARD_KEY]["ids"]) for d, s in zip(described, states)}
    count = first[SHARD_KEY]["count"]
    wanted = {(k, count) for k in range(1, count + 1)}
    if set(shards) != wanted or len(shards) != len(states):
        have = ", ".join(f"{k}/{n}" for k, n in sorted(shards))
        lacking = ", ".join(f"{k}/{n}" for k, n in sorted(wanted - set(shards))) or "none"
        raise ShardError(f"the states hold shards {have} (one state per shard, all of one split); missing: {lacking}")
    if target.folder.resolve() in {s.folder.resolve() for s in states}:
        raise ShardError(f"{target.folder}: the merged state must not be one of the shard states; choose another --out")
    if target.folder.exists():
        shutil.rmtree(target.folder)
    target.folder.mkdir(parents=True)
    outcomes: List[Outcome] = []
    for (index, _), (state, ids) in sorted(shards.items()):
        for ident in ids:
            source = state.folder / folder_name(ident)
            if not (source / SUMMARY).is_file():
                raise ShardError(f"{state.folder}: shard {index}/{count} has no result for {ident!r} (interrupted?); run that shard again")
            (target.folder / folder_name(ident)).mkdir()
            for name in (RESULTS, SUMMARY):
                shutil.copyfile(source / name, target.folder / folder_name(ident) / name)
            outcomes.append(Outcome.from_json(json.loads((source / SUMMARY).read_text(encoding="utf-8"))))
    merged = {key: value for key, value in first.items() if key != SHARD_KEY}
    write_json(merged, target.folder / STATE_FILE)
    return sorted(outcomes, key=lambda o: o.id)
