"""``mutate``: how strong are the hidden tests? Grade small automatic changes of the reference.

``operators`` proposes edits of solution regions, ``mutants`` turns them into uploads attributed
to problems, ``run`` grades them on the regrade pool, ``record`` keeps the outcome (and the
fingerprint of what decided it) in ``assignments/<a>/mutation.json``, ``equivalents`` reads the
mutants staff accepted as equivalent, ``report`` prints the figures and the survivors.
"""

from autograder.errors import AutograderError


class MutateError(AutograderError):
    """A mutation run cannot go on, or a file it reads is malformed; the message says what to fix."""
