"""Finding the submissions of a class in a folder."""
import pytest

from autograder.staff.submissions import SubmissionsError, find

pytestmark = pytest.mark.unit


def test_finding_submissions_in_a_plain_folder(tmp_path):
    for name in ("alice.py", "alice.zip", "carol.ipynb", "notes.txt", ".hidden.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "bob").mkdir()
    assert [s.id for s in find(tmp_path)] == ["alice.py", "alice.zip", "bob", "carol"]
    with pytest.raises(SubmissionsError, match="unzip it first"):
        find(tmp_path / "export.zip")
    (tmp_path / "submission_metadata.yml").write_text("- just\n- a list\n")
    with pytest.raises(SubmissionsError, match="expected a mapping"):
        find(tmp_path)
