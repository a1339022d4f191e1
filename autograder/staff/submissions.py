"""Find the submissions in a folder and who made them.

Three layouts, told apart by what is in the folder:

- a Gradescope "export submissions" download: ``submission_metadata.yml`` beside one
  ``submission_<id>/`` folder per submission; the metadata names the submitters (a group
  submission has several). The folder unzipped one level too deep is accepted too.
- one subfolder per submission (the folder's name is the id);
- one file per submission (``.py``, ``.ipynb`` or ``.zip``; the file name is the id).

Nothing here runs or even parses submission code: each submission is a path that the grader
resolves later, in the worker that grades it. Nothing here follows a symbolic link either: the
grader runs as root, so a link in the folder (to ``/etc/shadow``, to ``solutions/``) would be
read and graded as if it were a submission; a link becomes an error row instead.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from autograder.errors import AutograderError
from autograder.safe_text import multi_line, one_line

LOG = logging.getLogger(__name__)
METADATA = "submission_metadata.yml"
FILE_SUFFIXES = (".py", ".ipynb", ".zip")
HASH_FILE_LIMIT = 5 * 1024 * 1024  # larger files count by name and size only (the grader skips them)
METADATA_LIMIT = 64 * 1024 * 1024  # bytes of submission_metadata.yml (about 30 KB per student)
# Nodes the metadata may hold with every alias expanded: a class of 2,000 groups of 4 is about
# 100,000. A few hundred bytes of nested aliases ("billion laughs") expand to billions.
MAX_EXPANDED_NODES = 1_000_000
LINK_ERROR = "is a symbolic link: regrade never follows links (one could point outside the folder); put the files themselves there"


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
    path: Optional[Path]  # None when there is nothing to grade: a missing folder, or a link
    submitters: Tuple[Submitter, ...] = ()
    error: str = ""  # why path is None, when the metadata does not simply lack its folder
    staff_named: bool = False  # ``path`` is a file named by its id (the plain layout), not by the student


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
    Loader.get_single_node = _bounded(Loader.get_single_node)
    return Loader


class AliasBomb(Exception):
    """The YAML's aliases expand to more than ``MAX_EXPANDED_NODES`` nodes."""


def expanded_size(root: Any) -> int:
    """How many nodes a composed YAML document has once every alias is expanded (capped just past
    ``MAX_EXPANDED_NODES``; a node that contains itself counts as past it), found without
    expanding anything: an alias is the same node object as its anchor, so each distinct node's
    size is computed once, iteratively (the nesting may be deep)."""
    import yaml

    too_many = MAX_EXPANDED_NODES + 1
    sizes: Dict[int, int] = {}
    visiting = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in children), too_many)
            visiting.discard(id(node))
            continue
        if id(node) in sizes:
            continue
        if id(node) in visiting:  # reached from inside itself: `&a [*a]` expands forever
            return too_many
        visiting.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _bounded(get_single_node: Any) -> Any:
    """``get_single_node`` that refuses a document whose aliases expand beyond the bound, before
    anything is constructed from it (the expanded structure is what would exhaust memory)."""

    def composed(loader: Any) -> Any:
        node = get_single_node(loader)
        if node is not None and expanded_size(node) > MAX_EXPANDED_NODES:
            raise AliasBomb(f"its YAML aliases (*name) expand to more than {MAX_EXPANDED_NODES:,} entries")
        return node

    return composed


def read_metadata(path: Path) -> Dict[str, Tuple[Submitter, ...]]:
    """Submission folder name → its submitters, from Gradescope's ``submission_metadata.yml``."""
    try:
        import yaml
    except ImportError as exc:
        raise SubmissionsError(f"{path}: reading it needs PyYAML (bash scripts/setup.sh installs it)") from exc
    if path.is_symlink():
        raise SubmissionsError(f"{path}: {LINK_ERROR}")
    try:
        if path.stat().st_size > METADATA_LIMIT:
            raise SubmissionsError(f"{path}: larger than {METADATA_LIMIT // 2**20} MB, more than any class's export; download the export again from Gradescope")
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_yaml_loader())  # noqa: S506 - safe loader subclass
    except AliasBomb as exc:
        raise SubmissionsError(f"{path}: refused: {exc} (an alias bomb; Gradescope's exports are far smaller); download the export again from Gradescope") from None
    except (OSError, yaml.YAMLError) as exc:
        raise SubmissionsError(f"{path}: not readable YAML ({multi_line(exc)}); download the export again from Gradescope") from exc
    except RecursionError:
        raise SubmissionsError(f"{path}: nested too deeply to be Gradescope's metadata; download the export again from Gradescope") from None
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
        if "/" in name or name.startswith(".") or not (path.exists() or path.is_symlink()):
            LOG.warning("%s lists %s, but %s has no such folder", METADATA, one_line(name), folder)
            found.append(Submission(name, None, people))
        elif path.is_symlink():
            found.append(Submission(name, None, people, f"{name} {LINK_ERROR}"))
        else:
            found.append(Submission(name, path, people))
    listed = set(metadata)
    for path in sorted(folder.iterdir()):
        if path.name.startswith("submission_") and path.name not in listed and (path.is_symlink() or path.is_dir()):
            LOG.warning("%s is not in %s: graded without names", one_line(path), METADATA)
            found.append(Submission(path.name, None, (), f"{path.name} {LINK_ERROR}") if path.is_symlink() else Submission(path.name, path))
    return found


def _plain(folder: Path, skip: Tuple[Path, ...]) -> List[Submission]:
    here = folder.resolve()
    # A link is never resolved (it may loop, or point anywhere): it is compared by its own name.
    entries = [p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and (here / p.name if p.is_symlink() else p.resolve()) not in skip]
    ignored = [p.name for p in entries if not p.is_symlink() and p.is_file() and p.suffix.lower() not in FILE_SUFFIXES]
    if ignored:
        LOG.warning("%s: ignored %d file(s) that are not submissions (%s)", folder, len(ignored), one_line(", ".join(ignored[:5])))
    chosen = [p for p in entries if p.is_symlink() or p.is_dir() or p.suffix.lower() in FILE_SUFFIXES]
    stems = [p.name if p.is_dir() and not p.is_symlink() else p.stem for p in chosen]
    found = []
    for path, stem in zip(chosen, stems):
        ident = stem if stems.count(stem) == 1 else path.name  # alice.py and alice.zip stay apart
        if path.is_symlink():
            found.append(Submission(ident, None, (), f"{path.name} {LINK_ERROR}"))
        else:
            found.append(Submission(ident, path, staff_named=path.is_file() and path.suffix.lower() == ".py"))
    return found


def find(folder: Path, skip: Tuple[Path, ...] = ()) -> List[Submission]:
    """Every submission in ``folder``, sorted by id; ``skip`` are paths to leave out (our own output)."""
    folder = Path(folder)
    if not folder.is_dir():
        hint = f" unzip it first (unzip {folder} -d {folder.with_suffix('')})" if folder.suffix == ".zip" else ""
        raise SubmissionsError(f"{folder}: not a folder of submissions;{hint or ' give the folder that holds one subfolder or file per submission'}")
    inner = [p for p in folder.iterdir() if not p.is_symlink() and p.is_dir() and (p / METADATA).is_file()]
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
