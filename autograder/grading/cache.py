"""The cache of earlier results: a submission is regraded only when its notebook or its grading changed.

Each graded submission leaves runs/<student>/<lesson>/result.json in the course folder, saved once the
submission is in the course gradebook: its row and its cache key, a digest of the notebook and of the run's
fingerprint (this grader's version, the limits that change a grade, the autograder's code and the lessons'
sources). A later run that computes the same key reuses the row instead of grading the notebook again; its
scores are read from the course gradebook anew (autograder/grading/gradebook.py: read_scores).
"""

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from autograder.build import COURSE_DIRECTORY
from autograder.grading.records import Row

# Bump when a change alters grades without changing the autograder's code, so that the next run regrades everything.
GRADER_VERSION = "3"
AUTOGRADER_DIR = Path(__file__).resolve().parents[1]


def fingerprint(run, lessons):
    """A digest of what every grade depends on besides the notebook: limits, lesson sources, the grader's code."""
    settings = {"cell_timeout": run.cell_timeout, "wall_limit": run.wall_limit, "limits": asdict(run.limits)}
    digest = hashlib.sha256(json.dumps([GRADER_VERSION, settings], sort_keys=True).encode())
    sources = sorted(AUTOGRADER_DIR.rglob("*.py")) + sorted(
        path
        for lesson in lessons
        for path in (run.course_root / COURSE_DIRECTORY.source_directory / lesson).rglob("*")
        if path.is_file() and ".ipynb_checkpoints" not in path.parts
    )
    for path in sources:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def cache_key(fingerprint, notebook):
    """The key of a submission's result: its notebook (bytes, or None when missing) under the run's fingerprint."""
    return hashlib.sha256(fingerprint.encode() + (b"missing" if notebook is None else notebook)).hexdigest()


def earlier_row(run, submission):
    """The row an earlier run saved for this submission under the same cache key, else None."""
    result = run.run_folder(submission) / "result.json"
    if not result.is_file():
        return None
    saved = json.loads(result.read_text())
    # .get: a result saved by an earlier version of the grader has no cache_key, and is regraded.
    if saved.get("cache_key") != submission.cache_key:
        return None
    return Row(**{**saved["row"], "regraded": False})


def save_row(run, submission, row):
    (run.run_folder(submission) / "result.json").write_text(
        json.dumps({"cache_key": submission.cache_key, "row": asdict(row)})
    )
