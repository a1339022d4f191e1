"""Reading uploads: whatever bytes arrive, the grader answers with a plain per-upload message.

Each crash the held-out round found (issue 12) is graded through the real command line: an
encrypted zip member, an unknown compression method, a notebook whose metadata is of the wrong
type, a file whose parse runs out of memory. Then the whole class: a property-based test over
upload bytes (a .py, a zip, a notebook, a folder) in this process, where no exception but the
package's own user-facing one may escape ``uploads.read``, and a few of the same examples
through the command line (exit status 0, a schema-valid results.json, no grader traceback).
Memory is measured by ``scripts/upload_memory.py``, not asserted here.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import string
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import config as config_mod
from autograder.errors import AutograderError
from autograder.uploads import Upload, files, read
from helpers import make_project, narrowed_toml, run_cli, validate

EXPECTED = "my_llm_implementation.py"
GRADER_FRAME = re.compile(r'File "[^"]*/autograder/(?!.*corpus)')  # a frame of the grader's own code


def grade_cli(project, upload: Path, out: Path):
    """``python -m autograder grade UPLOAD --results OUT``: (exit status, results, stderr)."""
    cfg, _ = project
    done = run_cli("--config", str(cfg.path), "grade", str(upload), "--assignment", "hw3", "--results", str(out), timeout=1200)
    results = json.loads(out.read_text()) if out.is_file() else None
    return done.returncode, results, done.stderr


def assert_plain(results: dict) -> None:
    """Valid, and nothing a student sees holds a traceback of the grader or its internal-error text."""
    validate(results)
    shown = [results["output"]] + [t["output"] for t in results["tests"]]
    for text in shown:
        assert "The autograder itself failed" not in text, text[:2000]
        assert not GRADER_FRAME.search(text), text[:2000]


def zip_bytes(members) -> bytes:
    """A zip of (name, data, method) members, methods given as numbers (93 is Zstandard)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate names are part of what is tried
        for name, data, _method in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, data)
    raw = bytearray(buffer.getvalue())
    for index, (_, _, method) in enumerate(members):  # patch the method in both headers of member `index`
        if method != zipfile.ZIP_STORED:
            _patch_method(raw, index, method)
    return bytes(raw)


def _patch_method(raw: bytearray, index: int, method: int) -> None:
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = -1
        for _ in range(index + 1):
            start = raw.find(signature, start + 1)
        struct.pack_into("<H", raw, start + offset, method)


def encrypted_zip(name: str, data: bytes) -> bytes:
    """A zip whose one member says it is encrypted (flag bit 0): what ``zip -e`` writes."""
    raw = bytearray(zip_bytes([(name, data, zipfile.ZIP_STORED)]))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = raw.find(signature)
        flags = struct.unpack_from("<H", raw, start + offset)[0]
        struct.pack_into("<H", raw, start + offset, flags | 0x1)
    return bytes(raw)


# ---------------------------------------------------------------------------------------------
# Each crash of issue 12, in this process and through the command line


@pytest.mark.unit
def test_an_encrypted_member_is_named_with_the_fix(tmp_path):
    (tmp_path / "up.zip").write_bytes(encrypted_zip(EXPECTED, b"x = 1\n"))
    upload = read(tmp_path / "up.zip", EXPECTED)
    assert upload.source is None and "is encrypted inside the zip" in upload.problem and "without a password" in upload.problem


@pytest.mark.unit
def test_an_unknown_compression_method_is_named_with_the_fix(tmp_path):
    (tmp_path / "up.zip").write_bytes(zip_bytes([(EXPECTED, b"x = 1\n", 93)]))
    upload = read(tmp_path / "up.zip", EXPECTED)
    assert upload.source is None and "zip method 93" in upload.problem and "ordinary zip" in upload.problem


@pytest.mark.unit
def test_notebook_metadata_of_the_wrong_type_is_ignored(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "import attention\nX = 1\n"}
    notebook = {"cells": [cell], "metadata": {"autograder": {"modules": 7}}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "hw.ipynb").write_text(json.dumps(notebook))
    upload = read(tmp_path / "hw.ipynb", EXPECTED)
    assert upload.problem is None and "import attention" in upload.source  # no module list: nothing dropped


@pytest.mark.unit
@pytest.mark.parametrize("source, expected", [
    ("-" * 200_000 + "1\n", "ran out of memory"),  # MemoryError in CPython's parser
    ("x = " + "(" * 300 + ")" * 300 + "\n", "too many nested parentheses"),  # the parser's own limit: a SyntaxError
])
def test_a_file_that_cannot_be_parsed_gets_a_plain_message(tmp_path, source, expected):
    (tmp_path / EXPECTED).write_text(source)
    upload = read(tmp_path / EXPECTED, EXPECTED)
    assert upload.source is None or upload.syntax_error
    assert expected in (upload.problem or upload.syntax_error)


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["encrypted", "method-93", "notebook-modules-int", "unary-minus"])
def test_each_crash_of_the_held_out_round_is_a_plain_message_through_the_cli(attention_project, tmp_path, kind):
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1\n"}], "metadata": {"autograder": {"modules": 3}}, "nbformat": 4}
    name, data, expected = {
        "encrypted": ("up.zip", encrypted_zip(EXPECTED, b"x = 1\n"), "is encrypted inside the zip"),
        "method-93": ("up.zip", zip_bytes([(EXPECTED, b"x = 1\n", 93)]), "zip method 93"),
        "notebook-modules-int": ("hw.ipynb", json.dumps(notebook).encode(), "graded the code cells of the notebook hw.ipynb"),
        "unary-minus": (EXPECTED, b"-" * 200_000 + b"1\n", "ran out of memory"),
    }[kind]
    (tmp_path / name).write_bytes(data)
    status, results, stderr = grade_cli(attention_project, tmp_path / name, tmp_path / "results.json")
    assert status == 0, stderr[-3000:]
    assert_plain(results)
    assert expected in results["output"], results["output"]


# ---------------------------------------------------------------------------------------------
# Caps: listing costs names, not bytes


@pytest.mark.unit
def test_only_the_chosen_file_is_read(tmp_path, monkeypatch):
    """300 sparse files of 5 MB each (1.5 GB on paper) beside the one to grade: only that one is read."""
    folder = tmp_path / "up"
    folder.mkdir()
    for i in range(300):
        with open(folder / f"pad{i:03d}.dat", "wb") as handle:
            handle.truncate(files.MAX_FILE_BYTES)
    (folder / "a.py").write_text("x = 1\n")
    reads = []
    original = files.Contents.read
    monkeypatch.setattr(files.Contents, "read", lambda self, entry: reads.append(entry.name) or original(self, entry))
    upload = read(folder, EXPECTED)
    assert reads == ["a.py"] and upload.source == "x = 1\n"


@pytest.mark.unit
def test_files_and_folders_are_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_ENTRIES", 20)
    folder = tmp_path / "up"
    for i in range(30):
        (folder / f"d{i:02d}").mkdir(parents=True)
        (folder / f"d{i:02d}" / "x.txt").write_text("")
    upload = read(folder, EXPECTED)
    assert any("more than 20 files and folders; only the first 20 were looked at" in note for note in upload.notes), upload.notes
    assert "holds no Python file" in upload.problem
    archive = tmp_path / "many.zip"
    archive.write_bytes(zip_bytes([(f"f{i}.txt", b"", 0) for i in range(30)]))
    assert any("the zip holds 30 entries; only the first 20" in note for note in read(archive, EXPECTED).notes)


@pytest.mark.unit
def test_the_total_read_from_one_upload_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_TOTAL_BYTES", 10)
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "neurons.py").write_text("A = 1\n")
    (tmp_path / "up" / "attention.py").write_text("B = 2\n")
    upload = read(tmp_path / "up", EXPECTED, ["neurons.py", "attention.py"])
    assert upload.source is None and "MB together: upload only the code you wrote" in upload.problem


# ---------------------------------------------------------------------------------------------
# The whole class: any bytes, as a .py, a zip, a notebook or a folder


NAMES = st.sampled_from([EXPECTED, "a.py", "neurons.py", "attention.py", "x.ipynb", "notes.txt", "sub/" + EXPECTED, ".hidden.py",
                         "__MACOSX/" + EXPECTED, "../up.py", "/abs.py", "dir/", "a\\b.py"])
PYTHON = st.one_of(
    st.binary(max_size=300),
    st.text(alphabet=string.printable + "é\u2028\ufeff\x00", max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"x = 1\n", b"def f(:\n", b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", b"# coding: rot13\nx=1\n",
                     b"# coding: undefined\nx=1\n", b"# coding: unicode_escape\nx = '\\ud800'\n", b"\xef\xbb\xbfx = 1\n",
                     b"-" * 5000 + b"1\n", b"(" * 300 + b")" * 300, b"x = 1\r\ny = 2\r"]),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["cells", "cell_type", "source", "metadata", "nbgrader",
                                                                               "autograder", "modules", "solution", "grade_id", "grade", "x"]), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def notebooks(draw) -> bytes:
    """Notebook-shaped JSON with arbitrary values where the grader looks, or arbitrary bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    cell = st.fixed_dictionaries({"cell_type": st.sampled_from(["code", "markdown", 3]), "source": st.one_of(st.text(max_size=60), st.lists(st.text(max_size=30), max_size=3), JSON_VALUES)},
                                 optional={"metadata": st.one_of(JSON_VALUES, st.fixed_dictionaries({"nbgrader": st.one_of(JSON_VALUES, st.fixed_dictionaries(
                                     {"solution": st.booleans(), "grade_id": st.one_of(st.text(max_size=20), JSON_VALUES), "grade": st.booleans()}))}))})
    document = draw(st.one_of(JSON_VALUES, st.fixed_dictionaries({"cells": st.one_of(st.lists(st.one_of(cell, JSON_VALUES), max_size=4), JSON_VALUES)},
                                                               optional={"metadata": st.one_of(JSON_VALUES, st.fixed_dictionaries({"autograder": st.one_of(JSON_VALUES, st.fixed_dictionaries({"modules": JSON_VALUES}))}))})))
    return json.dumps(document).encode()


@st.composite
def zips(draw) -> bytes:
    # Stored bytes under any method's label: bzip2 and lzma labels make their decompressors fail.
    members = draw(st.lists(st.tuples(NAMES, PYTHON, st.sampled_from([0, 0, 12, 14, 93, 99])), max_size=4))
    raw = zip_bytes(members)
    if members and draw(st.booleans()):  # mark one encrypted, or cut or flip some bytes
        raw = encrypted_zip(members[0][0], members[0][1]) if draw(st.booleans()) else raw
    if draw(st.booleans()):
        raw = bytearray(raw)
        for position in draw(st.lists(st.integers(0, max(0, len(raw) - 1)), max_size=4)):
            if raw:
                raw[position] ^= 0xFF
        raw = bytes(raw[: draw(st.integers(0, len(raw)))] if draw(st.booleans()) else raw)
    return bytes(raw)


UPLOADS = st.one_of(
    st.tuples(st.just("file"), st.sampled_from([EXPECTED, "other.py", "x.zip", "x.ipynb", "noext"]), PYTHON),
    st.tuples(st.just("file"), st.sampled_from(["up.zip", "other.py", "up"]), zips()),
    st.tuples(st.just("file"), st.sampled_from(["hw.ipynb", "hw.py"]), notebooks()),
    st.tuples(st.just("folder"), st.just("up"), st.lists(st.tuples(NAMES, st.one_of(PYTHON, notebooks())), max_size=4)),
)


def lay_out(where: Path, upload) -> Path:
    """Write one drawn upload under ``where``; the path to hand to the grader."""
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    kind, name, data = upload
    if kind == "file":
        (where / name).write_bytes(data)
        return where / name
    root = where / name
    root.mkdir()
    for member, content in data:
        target = root / member.replace("\\", "_").lstrip("/").replace("../", "")
        if member.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_dir():
            target.write_bytes(content)
    return root


@pytest.mark.unit
@settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(upload=UPLOADS)
def test_any_upload_bytes_give_an_upload_or_a_user_facing_error(tmp_path_factory, upload):
    path = lay_out(tmp_path_factory.getbasetemp() / "fuzz-upload", upload)
    sources = ["neurons.py", "attention.py"]
    try:
        found = read(path, EXPECTED, sources)
    except AutograderError:
        return
    assert isinstance(found, Upload)
    assert (found.source is None) == (found.problem is not None) or found.syntax_error is not None
    assert all(isinstance(note, str) for note in found.notes)
    if found.source is not None:
        found.source.encode("utf-8")  # the sandbox gets it as a UTF-8 file


@pytest.mark.e2e
@settings(max_examples=4, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(upload=UPLOADS)
def test_any_upload_bytes_through_the_cli_give_status_0_and_valid_results(attention_project, tmp_path_factory, upload):
    work = tmp_path_factory.getbasetemp() / "fuzz-cli"
    path = lay_out(work / "in", upload)
    out = work / "results.json"
    out.unlink(missing_ok=True)
    status, results, stderr = grade_cli(attention_project, path, out)
    assert status == 0, stderr[-3000:]
    assert_plain(results)
    assert "Traceback" not in stderr, stderr[-3000:]


# ---------------------------------------------------------------------------------------------
# The assignment's own source files instead of the exported one (issue 14)


@pytest.mark.unit
def test_the_source_files_are_merged_as_the_export_does(tmp_path, repo_config):
    hw3 = repo_config.assignment("hw3")
    folder = tmp_path / "up"
    folder.mkdir()
    for name in hw3.sources:
        shutil.copyfile(repo_config.root / "solutions" / name, folder / name)
    (folder / "test_visible.py").write_text("def test_x():\n    pass\n")
    upload = read(folder, hw3.upload, hw3.sources)
    assert upload.problem is None and upload.syntax_error is None
    note = " ".join(upload.notes)
    assert f"no file named {hw3.upload} was uploaded, so {', '.join(hw3.sources)} were merged into it as export_submission.py does" in note
    assert "Other Python files were not graded: test_visible.py" in note
    assert "from attention import" not in upload.source and "class DialogueGPT" in upload.source
    (folder / "vit.py").unlink()  # one missing: the rest is still merged, and the note says which
    partial = read(folder, hw3.upload, hw3.sources)
    assert "(missing: vit.py)" in " ".join(partial.notes) and "class PatchEmbed" not in partial.source
    assert "import vit" not in partial.source and "from vit" not in partial.source


@pytest.fixture(scope="module")
def two_file_project(tmp_path_factory):
    """hw3 narrowed to the problems of neurons.py, with two source files: the upload may be either."""
    path = make_project(tmp_path_factory.mktemp("two-files"), narrowed_toml(["neurons", "lstm_parity"], ["neurons.py", "attention.py"], ["hw3/hidden/neurons.py"], max_examples=5),
                        hidden=("neurons.py",))
    cfg = config_mod.load(path)
    return cfg, cfg.assignment("hw3")


@pytest.mark.e2e
def test_uploading_the_source_files_scores_as_the_exported_file_through_the_cli(two_file_project, tmp_path):
    cfg, assignment = two_file_project
    folder = tmp_path / "up"
    folder.mkdir()
    for name in assignment.sources:
        shutil.copyfile(cfg.root / "solutions" / name, folder / name)
    status, results, stderr = grade_cli(two_file_project, folder, tmp_path / "results.json")
    assert status == 0, stderr[-3000:]
    assert_plain(results)
    assert results["score"] == assignment.total_points, results["output"]
    assert "neurons.py, attention.py were merged into it as export_submission.py does" in results["output"]
