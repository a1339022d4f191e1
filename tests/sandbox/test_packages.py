"""The sandbox uid reads the grader's packages wherever the repository was cloned."""
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.skipif(os.geteuid() != 0, reason="mirrors are made only when the grader runs as root")
def test_packages_the_sandbox_uid_cannot_reach_are_mirrored_where_it_can(tmp_path, monkeypatch):
    """A clone in a 0700 folder (``mktemp -d``, a home folder) hides its venv from uid 65534: the
    sandbox then reads a hard-linked mirror, made once per state of the packages, never from a
    folder that someone other than root could have planted."""
    import secrets
    import subprocess

    from autograder.sandbox import interpreter as interp
    from autograder.sandbox import uids

    private = tmp_path / "private"
    (private / "site-packages" / "fakepkg").mkdir(parents=True)
    private.chmod(0o700)
    (private / "site-packages" / "fakepkg" / "__init__.py").write_text("ANSWER = 42\n")
    mirrors = Path("/tmp") / f"mirrors-{secrets.token_hex(4)}"
    monkeypatch.setattr(interp, "PACKAGE_MIRRORS", str(mirrors))
    try:
        packages = str(private / "site-packages")
        assert not uids.nobody_can_reach(packages, 0o005)
        mirror = interp.mirror_packages(packages)
        assert mirror is not None and uids.nobody_can_reach(mirror, 0o005)
        assert os.stat(Path(mirror) / "fakepkg" / "__init__.py").st_nlink == 2  # a hard link, no copy
        read = subprocess.run(
            [interp.interpreter().executable, "-S", "-c", "import fakepkg; print(fakepkg.ANSWER)"],
            env={"PYTHONPATH": mirror}, capture_output=True, text=True, preexec_fn=lambda: uids.drop_privileges(uids.NOBODY),
        )
        assert read.stdout.strip() == "42", read.stderr
        assert interp.mirror_packages(packages) == mirror  # made once
        (private / "site-packages" / "newpkg.py").write_text("")  # pip installed something
        newer = interp.mirror_packages(packages)
        assert newer != mirror and (Path(newer) / "newpkg.py").exists() and not Path(mirror).exists()
        (gone := tmp_path / "deleted-clone").mkdir()
        orphan = interp.mirror_packages(str(gone))
        shutil.rmtree(gone)  # the clone is deleted: its mirror goes when the next one is made
        (private / "site-packages" / "other.py").write_text("")
        assert Path(interp.mirror_packages(packages)).exists() and not Path(orphan).exists()
        mirrors.chmod(0o777)  # as if a sandbox user could write there
        assert interp.mirror_packages(packages) is None
    finally:
        shutil.rmtree(mirrors, ignore_errors=True)
