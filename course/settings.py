"""How big the lessons' experiments are: `COURSE_FAST=1` makes every notebook run on a 2-core CPU in well under
a minute (smaller data, fewer steps); tests and the autograder set it.
"""

import os


def fast_mode() -> bool:
    """True when the environment asks for the small, quick version of every experiment."""
    return os.environ.get("COURSE_FAST", "").strip().lower() in ("1", "true", "yes", "on")


def sized(fast, full):
    """Return `fast` in fast mode and `full` otherwise, e.g. `steps = sized(100, 2000)`."""
    return fast if fast_mode() else full
