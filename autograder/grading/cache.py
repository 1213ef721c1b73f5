"""The cache of earlier results: a submission is regraded only when its notebook or its grading changed.

Each graded submission leaves runs/<student>/<lesson>/result.json in the course folder, saved once the
submission is in the course gradebook: its row, sealed with an HMAC of the row and its cache key under a
secret of the course folder (cache-secret, readable by the grader alone). The cache key is a digest of the
notebook and of the run's fingerprint (this grader's version, the limits that change a grade, the autograder's
code and the lessons' sources). A later run that computes the same key and verifies the seal reuses the row
instead of grading the notebook again; its
scores are read from the course gradebook anew (autograder/grading/gradebook.py: read_scores).
"""

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict
from pathlib import Path

from autograder.build import COURSE_DIRECTORY
from autograder.grading.records import Row

# Bump when a change alters grades without changing the autograder's code, so that the next run regrades everything.
GRADER_VERSION = "4"
AUTOGRADER_DIR = Path(__file__).resolve().parents[1]


def fingerprint(run, lessons):
    """A digest of what every grade depends on besides the notebook: limits, lesson sources, the grader's code."""
    settings = {
        "cell_timeout": run.cell_timeout,
        "wall_limit": run.wall_limit,
        "limits": asdict(run.limits),
        "unsafe": run.unsafe,
    }
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
    """The row an earlier run saved for this submission under the same cache key, else None.

    A result is trusted only when its seal verifies: written by this grader, with the course folder's secret,
    unchanged since, for this very notebook. Anything else (no seal, a forged or edited file) is regraded.
    """
    result = run.run_folder(submission) / "result.json"
    if result.is_symlink() or not result.is_file():
        return None
    try:
        saved = json.loads(result.read_text())
        row, seal = saved["row"], saved["seal"]
    except (ValueError, KeyError, TypeError):
        return None
    if not hmac.compare_digest(seal, _seal(run, submission.cache_key, row)):
        return None
    return Row(**{**row, "regraded": False})


def save_row(run, submission, row):
    row = asdict(row)
    (run.run_folder(submission) / "result.json").write_text(
        json.dumps({"row": row, "seal": _seal(run, submission.cache_key, row)})
    )


def _seal(run, cache_key, row):
    """An HMAC of the cache key and the row under the course folder's secret, which no student code can read."""
    message = json.dumps([cache_key, row], sort_keys=True).encode()
    return hmac.new(_secret(run), message, hashlib.sha256).hexdigest()


def _secret(run):
    path = run.course / "cache-secret"
    if not path.is_file():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "wb") as secret:
            secret.write(secrets.token_bytes(32))
    return path.read_bytes()
