"""Find the submissions in a folder and who made them.

Three layouts, told apart by what is in the folder:

- a Gradescope "export submissions" download: ``submission_metadata.yml`` beside one
  ``submission_<id>/`` folder per submission; the metadata names the submitters (a group
  submission has several). The folder unzipped one level too deep is accepted too.
- one subfolder per submission (the folder's name is the id);
- one file per submission (``.py``, ``.ipynb`` or ``.zip``; the file name is the id).

Nothing here runs or even parses submission code: each submission is a path that the grader
resolves later, in the worker that grades it.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from autograder.errors import AutograderError

LOG = logging.getLogger(__name__)
METADATA = "submission_metadata.yml"
FILE_SUFFIXES = (".py", ".ipynb", ".zip")
HASH_FILE_LIMIT = 5 * 1024 * 1024  # larger files count by name and size only (the grader skips them)


class SubmissionsError(AutograderError):
    """The submissions folder cannot be read; the message names the path and the fix."""


@dataclass(frozen=True)
class Submitter:
    name: str = ""
    email: str = ""
    sid: str = ""


@dataclass(frozen=True)
class Submission:
    id: str
    path: Optional[Path]  # None when the metadata lists a submission whose folder is missing
    submitters: Tuple[Submitter, ...] = ()


def fingerprint(path: Optional[Path]) -> str:
    """A hash of what was uploaded (names and contents), to notice a changed submission on resume."""
    digest = hashlib.sha256()
    if path is None:
        return "missing"
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for item in files:
        if item.is_symlink():
            continue
        relative = item.relative_to(path).as_posix() if path.is_dir() else item.name
        size = item.stat().st_size
        digest.update(f"{relative}\0{size}\0".encode())
        if size <= HASH_FILE_LIMIT:
            digest.update(item.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Gradescope's submission_metadata.yml


def _key(record: Dict[Any, Any], name: str) -> Any:
    """Gradescope writes Ruby symbols as keys (``:name``); accept plain keys too."""
    for key in (f":{name}", name):
        if key in record:
            return record[key]
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _submitters(record: Any) -> Tuple[Submitter, ...]:
    if not isinstance(record, dict):
        return ()
    people = _key(record, "submitters")
    if not isinstance(people, list):
        return ()
    found = []
    for person in people:
        if isinstance(person, dict):
            found.append(Submitter(_text(_key(person, "name")), _text(_key(person, "email")), _text(_key(person, "sid"))))
    return tuple(found)


def _yaml_loader() -> type:
    """A safe loader that reads Ruby-tagged objects (``!ruby/object:...``) as plain data."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader: "Loader", _suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:yaml.org,2002:", plain)
    return Loader


def read_metadata(path: Path) -> Dict[str, Tuple[Submitter, ...]]:
    """Submission folder name → its submitters, from Gradescope's ``submission_metadata.yml``."""
    try:
        import yaml
    except ImportError as exc:
        raise SubmissionsError(f"{path}: reading it needs PyYAML (bash scripts/setup.sh installs it)") from exc
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_yaml_loader())  # noqa: S506 - safe loader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise SubmissionsError(f"{path}: not readable YAML ({exc}); download the export again from Gradescope") from exc
    if not isinstance(data, dict):
        raise SubmissionsError(f"{path}: expected a mapping of submission_<id> to its details, found {type(data).__name__}")
    return {str(key): _submitters(record) for key, record in data.items()}


# ---------------------------------------------------------------------------------------------
# Layouts


def _gradescope(folder: Path) -> List[Submission]:
    metadata = read_metadata(folder / METADATA)
    found = []
    for name, people in sorted(metadata.items()):
        path = folder / name
        if "/" in name or name.startswith(".") or not path.exists():
            LOG.warning("%s lists %s, but %s has no such folder", METADATA, name, folder)
            found.append(Submission(name, None, people))
        else:
            found.append(Submission(name, path, people))
    listed = set(metadata)
    for path in sorted(folder.iterdir()):
        if path.is_dir() and path.name.startswith("submission_") and path.name not in listed:
            LOG.warning("%s is not in %s: graded without names", path, METADATA)
            found.append(Submission(path.name, path))
    return found


def _plain(folder: Path, skip: Tuple[Path, ...]) -> List[Submission]:
    entries = [p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and p.resolve() not in skip]
    ignored = [p.name for p in entries if p.is_file() and p.suffix.lower() not in FILE_SUFFIXES]
    if ignored:
        LOG.warning("%s: ignored %d file(s) that are not submissions (%s)", folder, len(ignored), ", ".join(ignored[:5]))
    chosen = [p for p in entries if p.is_dir() or p.suffix.lower() in FILE_SUFFIXES]
    stems = [p.stem if p.is_file() else p.name for p in chosen]
    found = []
    for path, stem in zip(chosen, stems):
        ident = stem if stems.count(stem) == 1 else path.name  # alice.py and alice.zip stay apart
        found.append(Submission(ident, path))
    return found


def find(folder: Path, skip: Tuple[Path, ...] = ()) -> List[Submission]:
    """Every submission in ``folder``, sorted by id; ``skip`` are paths to leave out (our own output)."""
    folder = Path(folder)
    if not folder.is_dir():
        hint = f" unzip it first (unzip {folder} -d {folder.with_suffix('')})" if folder.suffix == ".zip" else ""
        raise SubmissionsError(f"{folder}: not a folder of submissions;{hint or ' give the folder that holds one subfolder or file per submission'}")
    inner = [p for p in folder.iterdir() if p.is_dir() and (p / METADATA).is_file()]
    if not (folder / METADATA).is_file() and len(inner) == 1:
        folder = inner[0]  # the export zip holds one folder, assignment_<id>_export/
    if (folder / METADATA).is_file():
        found = _gradescope(folder)
    else:
        found = _plain(folder, tuple(p.resolve() for p in skip))
    if not found:
        raise SubmissionsError(f"{folder}: holds no submissions (subfolders, or {', '.join(FILE_SUFFIXES)} files)")
    ids = [s.id for s in found]
    if len(set(ids)) != len(ids):
        raise SubmissionsError(f"{folder}: two submissions have the same id; rename one of {sorted({i for i in ids if ids.count(i) > 1})}")
    return sorted(found, key=lambda s: s.id)
