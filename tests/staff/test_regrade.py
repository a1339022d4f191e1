"""Course-staff tooling: the bulk regrade (equal to grading one by one, resumable, survives a hang),
the Gradescope export layout, and the class report (rendered in a real headless browser).

All on the narrowed attention project (three problems) to stay fast.
"""
import base64
import csv
import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.assign.export import merge
from autograder.build.release import stubs
from autograder.grade import results as results_mod
from autograder.grade.engine import grade_path
from autograder.sandbox import choose_isolation
from helpers import ROOT, run_cli

pytestmark = pytest.mark.e2e

BUGS = ROOT / "assignments" / "hw3" / "corpus" / "bugs"
LOOP_IN_TRANSFORMER = '''
class Transformer(Transformer):
    def forward(self, x, attn_mask=None, return_attn=False):
        while True:
            pass
'''
PLOTS = ("plot-scores", "plot-problems", "plot-checks", "plot-times")


def read_csv(path: Path) -> dict:
    return {row["id"]: row for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))}


def regrade_cli(cfg, folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    done = run_cli("--config", str(cfg.path), "regrade", str(folder), "--assignment", "hw3", "--out", str(out), *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def graded_class(attention_project, attention_reference, tmp_path_factory):
    """A class of eight: the reference, the blank stubs, two corpus bugs (one as a folder), a syntax
    error, an infinite loop, an empty file and a folder of two wrongly named files; regraded once
    with two jobs and the report."""
    cfg, assignment = attention_project
    folder = tmp_path_factory.mktemp("class") / "submissions"
    folder.mkdir()
    (folder / "reference.py").write_text(attention_reference)
    (folder / "stub.py").write_text(merge(list(stubs(cfg, assignment).items())))
    (folder / "bug_mask").mkdir()
    (folder / "bug_mask" / "my_llm_implementation.py").write_text(attention_reference + "\n" + (BUGS / "attention_head__mask_after_softmax.py").read_text())
    (folder / "bug_layers.py").write_text(attention_reference + "\n" + (BUGS / "transformer__shared_layers.py").read_text())
    (folder / "syntax.py").write_text(attention_reference + "\nx = (\n")
    (folder / "loop.py").write_text(attention_reference + LOOP_IN_TRANSFORMER)
    (folder / "empty.py").write_text("\n")
    (folder / "two").mkdir()
    (folder / "two" / "attention.py").write_text(attention_reference)
    (folder / "two" / "helpers.py").write_text("x = 1\n")
    (folder / "notes.txt").write_text("not a submission")
    out = folder.parent / "out" / "grades.csv"
    report = folder.parent / "out" / "report.html"
    done = regrade_cli(cfg, folder, out, "--jobs", "2", "--report", str(report))
    return folder, out, report, done


def test_regrade_equals_grading_one_by_one(attention_project, graded_class):
    cfg, assignment = attention_project
    folder, out, _, done = graded_class
    rows = read_csv(out)
    assert list(rows) == sorted(rows) == ["bug_layers", "bug_mask", "empty", "loop", "reference", "stub", "syntax", "two"]
    assert list(next(iter(rows.values()))) == [
        "id", "name", "email", "sid", "total", "attention_head", "multi_headed_attention", "transformer", "status", "error"
    ]
    for line in ("reference: 10/10 in", "stub: 0/10 in", "8 submissions (8 graded now"):
        assert line in done.stdout + done.stderr
    isolation = choose_isolation()
    paths = {"bug_mask": folder / "bug_mask", "two": folder / "two"} | {p.stem: p for p in folder.glob("*.py")}
    for ident, path in sorted(paths.items()):
        alone = grade_path(cfg, assignment, path, isolation, staff_named=path.is_file())
        row = rows[ident]
        assert row["error"] == ""
        assert float(row["total"]) == pytest.approx(alone.score, abs=1e-4), ident
        assert {p: float(row[p]) for p in alone.by_problem()} == pytest.approx(alone.by_problem(), abs=1e-4), ident
        kept = json.loads((out.parent / "grades.state" / ident / "results.json").read_text())
        expected = results_mod.to_results(alone)
        kept.pop("execution_time"), expected.pop("execution_time")
        assert kept == expected, ident
    # and the grades are the ones these submissions must get
    assert rows["reference"]["total"] == "10" and rows["stub"]["total"] == "0" and rows["syntax"]["total"] == "0"
    assert float(rows["bug_mask"]["attention_head"]) < 4 and rows["bug_mask"]["transformer"] == "3"
    assert float(rows["bug_layers"]["transformer"]) < 3 and rows["bug_layers"]["attention_head"] == "4"
    assert rows["loop"]["attention_head"] == "4" and rows["loop"]["transformer"] == "0"
    assert {ident: row["status"] for ident, row in rows.items()} == {
        "bug_layers": "graded", "bug_mask": "graded", "empty": "empty or binary", "loop": "graded",
        "reference": "graded", "stub": "not attempted", "syntax": "syntax error", "two": "wrong files",
    }


def test_files_named_by_staff_get_no_note_about_their_name(graded_class, attention_reference, tmp_path):
    """A regrade folder of <id>.py files: the name is the staff's, not the student's to fix; a
    student's own wrongly named file (inside a folder or a zip) still gets the note."""
    from autograder.uploads import resolve

    _, out, _, _ = graded_class
    for ident in ("reference", "bug_layers", "stub"):
        kept = json.loads((out.parent / "grades.state" / ident / "results.json").read_text())
        assert "no file named" not in kept["output"], ident
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "attention.py").write_text(attention_reference)
    assert any("no file named my_llm_implementation.py" in n for n in resolve(tmp_path / "mine", "my_llm_implementation.py").notes)
    alone = tmp_path / "mine" / "attention.py"
    assert any("no file named" in n for n in resolve(alone, "my_llm_implementation.py").notes)
    assert not any("no file named" in n for n in resolve(alone, "my_llm_implementation.py", staff_named=True).notes)


def test_three_shards_merged_equal_the_single_run(attention_project, graded_class, tmp_path):
    """`regrade --shard K/3` on three "machines" (separate outputs), then `merge`: the same CSV,
    byte for byte, as the single run, and a report from the merged state."""
    cfg, _ = attention_project
    folder, out, _, _ = graded_class
    states = []
    for k in (1, 2, 3):
        shard_out = tmp_path / f"machine{k}" / "grades.csv"
        done = regrade_cli(cfg, folder, shard_out, "--jobs", "1", "--shard", f"{k}/3")
        assert f"shard {k}/3: " in done.stdout
        states.append(str(shard_out.parent / "grades.state"))
    assert sorted(len(read_csv(tmp_path / f"machine{k}" / "grades.csv")) for k in (1, 2, 3)) == [2, 3, 3]
    merged = tmp_path / "merged" / "grades.csv"
    report = tmp_path / "merged" / "report.html"
    done = run_cli("--config", str(cfg.path), "merge", *states, "--out", str(merged), "--report", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    assert merged.read_bytes() == out.read_bytes()
    assert "could not be graded" in report.read_text()
    # a missing shard is refused, naming it
    done = run_cli("--config", str(cfg.path), "merge", states[0], states[2], "--out", str(tmp_path / "bad.csv"))
    assert done.returncode == 2 and "missing: 2/3" in done.stderr
    done = run_cli("--config", str(cfg.path), "regrade", str(folder), "--assignment", "hw3", "--out", str(tmp_path / "x.csv"), "--shard", "4/3")
    assert done.returncode == 2 and "1 <= K <= N" in done.stderr


def test_resume_regrades_only_what_is_not_done(attention_project, graded_class):
    cfg, _ = attention_project
    folder, out, _, _ = graded_class
    before = out.read_bytes()
    state = out.parent / "grades.state"
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in state.glob("*/summary.json")}
    (state / "stub" / "summary.json").unlink()  # as if the batch had been interrupted while grading it
    again = regrade_cli(cfg, folder, out, "--jobs", "2")
    assert "8 submissions (1 graded now, 7 from" in again.stdout
    assert "stub: 0/10 in" in again.stderr and "reference:" not in again.stderr
    assert out.read_bytes() == before
    nothing = regrade_cli(cfg, folder, out)
    assert "8 submissions (0 graded now, 8 from" in nothing.stdout
    assert out.read_bytes() == before
    after = {p.parent.name: p.stat().st_mtime_ns for p in state.glob("*/summary.json")}
    assert {k: v for k, v in after.items() if k != "stub"} == {k: v for k, v in stamps.items() if k != "stub"}


def test_a_hanging_submission_is_stopped_and_the_batch_goes_on(attention_project, attention_reference, tmp_path):
    cfg, _ = attention_project
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "hang.py").write_text(attention_reference + "\nwhile True:\n    pass\n")  # every import hangs
    (folder / "syntax.py").write_text("def broken(:\n")
    out = tmp_path / "grades.csv"
    done = regrade_cli(cfg, folder, out, "--jobs", "1", "--submission-timeout", "5")
    rows = read_csv(out)
    assert "grading took longer than the cap of 5 s" in rows["hang"]["error"]
    assert rows["hang"]["total"] == "" and rows["hang"]["transformer"] == "" and rows["hang"]["status"] == "over the time budget"
    assert rows["syntax"]["total"] == "0" and rows["syntax"]["error"] == ""
    assert "1 with errors" in done.stdout
    (folder / "syntax.py").write_text("def still_broken(:\n")  # a changed upload is graded again
    again = regrade_cli(cfg, folder, out, "--jobs", "1", "--submission-timeout", "5")
    assert "2 submissions (1 graded now, 1 from" in again.stdout and "syntax: 0/10" in again.stderr


METADATA = """\
submission_101:
  :submitters:
  - :name: Ada Lovelace
    :sid: '31415926'
    :email: ada.lovelace@example.edu
  - :name: Alan Turing
    :sid: '27182818'
    :email: aturing@example.edu
  :created_at: !ruby/object:ActiveSupport::TimeWithZone
    utc: 2026-11-20 17:03:11.000000000 Z
    zone: !ruby/object:ActiveSupport::TimeZone
      name: America/Los_Angeles
  :score: 0.0
submission_102:
  :submitters:
  - :name: Grace Hopper
    :sid: '16180339'
    :email: grace@example.edu
submission_103:
  :submitters:
  - :name: Edsger Dijkstra
    :sid: '14142135'
    :email: ewd@example.edu
"""


def test_gradescope_export_names_students_and_the_report_does_not(attention_project, attention_reference, tmp_path):
    cfg, _ = attention_project
    export = tmp_path / "download" / "assignment_7_export"  # as unzipped: one folder inside
    export.mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(METADATA)
    (export / "submission_101").mkdir()
    # the syntax error's message quotes the line, which names the students
    (export / "submission_101" / "my_llm_implementation.py").write_text('AUTHORS = "Ada Lovelace and aturing@example.edu" +\n')
    (export / "submission_102" / "hw3").mkdir(parents=True)
    (export / "submission_102" / "hw3" / "my_llm_implementation.py").write_text(
        attention_reference + "\nprint('Grace Hopper 16180339')\n" + (BUGS / "attention_head__mask_inverted.py").read_text()
    )
    out = tmp_path / "grades.csv"
    report = tmp_path / "report.html"
    regrade_cli(cfg, tmp_path / "download", out, "--jobs", "2", "--report", str(report))
    rows = read_csv(out)
    assert list(rows) == ["submission_101", "submission_102", "submission_103"]
    assert rows["submission_101"]["name"] == "Ada Lovelace; Alan Turing" and rows["submission_101"]["sid"] == "31415926; 27182818"
    assert rows["submission_101"]["email"] == "ada.lovelace@example.edu; aturing@example.edu" and rows["submission_101"]["total"] == "0"
    assert rows["submission_102"]["name"] == "Grace Hopper" and 6 <= float(rows["submission_102"]["total"]) < 10
    assert "folder is missing" in rows["submission_103"]["error"] and rows["submission_103"]["total"] == ""
    assert [rows[i]["status"] for i in sorted(rows)] == ["syntax error", "graded", "empty or binary"]
    page = re.sub(r'src="data:[^"]*"', "", report.read_text())  # the text, without the embedded images
    assert "&lt;student&gt;" in page  # the syntax error's quoted line is shown, anonymised
    for secret in ("Ada", "Lovelace", "Turing", "aturing", "Grace", "Hopper", "Dijkstra", "31415926", "16180339", "example.edu", "submission_10"):
        assert not re.search(rf"\b{secret}", page, re.IGNORECASE), secret


PROBE = """<script>
window.addEventListener('load', () => {
  const probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify({
    images: [...document.images].map(i => ({id: i.id, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight})),
    scrolling: [...document.querySelectorAll('pre, td, table')].filter(e => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1).map(e => e.tagName),
    text: document.body.innerText,
  });
  document.body.appendChild(probe);
});
</script>"""


def test_report_renders_its_plots_in_a_headless_browser(graded_class, tmp_path):
    _, _, report, _ = graded_class
    page = report.read_text()
    # self-contained: everything it loads is embedded
    assert all(link.startswith("data:") for link in re.findall(r'(?:src|href)="([^"]+)"', page))
    assert "<script" not in page
    for ident in PLOTS:  # each plot is a real picture, not a blank square
        data = re.search(rf'id="{ident}"[^>]*src="data:image/png;base64,([^"]+)"', page).group(1)
        from PIL import Image

        image = Image.open(io.BytesIO(base64.b64decode(data))).convert("L")
        assert image.width > 300 and len(image.getcolors(maxcolors=100_000) or []) > 10, ident
    for heading in ("Score distribution", "Per-problem pass rates", "Most frequent failing checks", "Grading time per submission"):
        assert f"<h2>{heading}</h2>" in page
    assert re.search(r"the time limit of \d+ s", page)  # the loop's message
    summary = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"n\">(\d+)</td></tr>", page))
    assert summary["graded"] == "4" and summary["not attempted (every problem still a stub)"] == "1"
    assert summary["could not be graded (see the last section)"] == "3"  # the syntax error, the empty file, the two files
    checks = page.split("<h2>Most frequent failing checks</h2>")[1].split("<h2>Not attempted</h2>")[0]
    assert "NotImplementedError" not in checks  # the stub is counted apart, not among the failing checks
    assert re.search(r'alt="failures per check: [^"]*transformer: ', checks)  # the chart is labelled by check names
    assert 'class="messages"' in checks and "of 5 (" not in checks  # grouped messages; out of the 4 that attempted
    not_attempted = page.split("<h2>Not attempted</h2>")[1].split("<h2>")[0]
    assert re.search(r"<td>attention_head</td><td class=\"n\">1</td>", not_attempted)
    not_graded = page.split("<h2>Not graded</h2>")[1]
    for status in ("syntax error", "empty or binary", "wrong files"):
        assert f"<td>{status}</td>" in not_graded, status

    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it when run as root)")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    done = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom", probed.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    probe = json.loads(html.unescape(found.group(1)))
    images = {i["id"]: i for i in probe["images"]}
    assert set(images) == set(PLOTS)
    for ident, image in images.items():
        assert image["complete"] and image["w"] > 300 and image["h"] > 100, (ident, image)
    assert probe["scrolling"] == []  # no box scrolls: everything is on the page, as printed
    assert "could not be graded (see the last section)\t3" in probe["text"] and "Not attempted" in probe["text"]
    pdf = tmp_path / "report.pdf"
    done = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF"), done.stderr[-2000:]
    assert len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes())) >= 2  # printed whole, over pages


def test_shard_split_is_a_partition_and_bad_values_are_refused():
    from autograder.staff.shards import ShardError, parse, select
    from autograder.staff.submissions import Submission

    found = [Submission(f"s{i:02d}", None) for i in (5, 1, 9, 3, 7, 2, 8)]
    parts = [[s.id for s in select(found, parse(f"{k}/3"))] for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(s.id for s in found) and parts[0] == ["s01", "s05", "s09"]
    for bad in ("0/3", "4/3", "3", "a/b"):
        with pytest.raises(ShardError, match="K/N"):
            parse(bad)


def test_status_of_an_old_summary_and_of_a_grader_failure():
    from autograder.staff.state import GRADER_ERROR, STATUSES, Outcome

    assert Outcome.from_json({"id": "a", "total": 3}).status == "graded"  # written before the column existed
    assert Outcome.from_json({"id": "b", "error": "the grader failed: X"}).status == GRADER_ERROR
    assert len(STATUSES) == 7 and Outcome.from_json(Outcome("c", status="wrong files").to_json()).status == "wrong files"
