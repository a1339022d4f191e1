"""The one base class of errors meant for a person: staff running a command, or a student's upload.

Every error the command line should print as one plain message (a malformed ``grading.toml``, a
release that cannot be proven, a corpus file with a wrong name, an upload path that does not
exist) derives from ``AutograderError``; ``cli.py`` catches this type alone and prints its
message, with a non-zero exit status. Anything else that escapes is a bug of the grader and keeps
its traceback.
"""
from __future__ import annotations


class AutograderError(Exception):
    """A problem the reader can fix; the message names the file or option and the fix."""
