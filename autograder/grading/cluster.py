"""Grading on a Dask cluster: `grade SUBMISSIONS --scheduler tcp://HOST:8786` makes each submission a Dask task.

A task carries all a worker needs (`Task`): the run's settings that change a grade, the submission with its
notebook's bytes, the fingerprint of the lesson and the grader it must be graded with, and the evidence of the
lesson's reference run (judge.py). The worker checks that its own course and grader have that fingerprint, grades
the submission in a scratch course folder of its own with the same steps and sandbox as a local run
(pipeline.grade_submission), and returns the row and the files grading made (the submitted and autograded
notebooks, the run folder with the submission's own gradebook, the feedback page) as bytes: workers need the
course installed, no shared file system. The main process alone writes those files under DIR, merges each
submission into the course gradebook and writes grades.csv, as after a local run.

A worker that dies mid-task (its machine lost, killed) has its task run again on another: Dask reschedules the
tasks of a lost worker, and the main process takes each submission's result once, as it comes. Each submission is
still graded in a process of its own, forked on the worker (nbgrader_run.py), which a daemonic process may not
do: workers run with DASK_DISTRIBUTED__WORKER__DAEMON=False (README: grading on a cluster).
"""

import multiprocessing
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from autograder.build import COURSE_DIRECTORY, REPO_ROOT, CourseError
from autograder.grading import cache, judge, sandbox
from autograder.grading.course_folder import prepare_course
from autograder.grading.gradebook import make_gradebook_tool_findable
from autograder.grading.records import GradingRun, Row, Submission
from autograder.grading.status import ERROR

# The GradingRun fields a worker grades with: those that change a grade (cache.fingerprint).
GRADE_SETTINGS = ("cell_timeout", "wall_limit", "limits", "unsafe")
CONNECT_TIMEOUT = "20s"  # to reach the scheduler


@dataclass(frozen=True)
class Task:
    """One submission, with everything a worker needs to grade it as the main process would."""

    submission: Submission
    settings: dict  # GRADE_SETTINGS of the run
    course_root: str  # where the main process's course lies; a worker without it there uses its own
    fingerprint: str  # cache.fingerprint of the lesson: the worker's course and grader must have the same
    reference: str  # the reference run's evidence (judge.reference_file), as the main process keeps it


def graded(run, submissions):
    """(submission, row) for each of `submissions` once graded on the Dask cluster at `run.scheduler`, as they come.

    The files each worker made are written under run.out before its row is given. A submission whose task fails
    on the cluster for a reason of the grader's gets an `error` row; a CourseError (a worker with another course,
    or no sandbox) stops the batch with its reason, as it would here.
    """
    from distributed import Client, as_completed

    try:
        client = Client(run.scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise CourseError(f"cannot reach the Dask scheduler at {run.scheduler}: {error}") from None
    with client:
        settings = {name: getattr(run, name) for name in GRADE_SETTINGS}
        lessons = {each.lesson for each in submissions}
        # Once per lesson, not per submission: each reads the grader's code and the lesson's source.
        fingerprints = {lesson: cache.fingerprint(run, [lesson]) for lesson in lessons}
        references = {lesson: _reference(run, client, lesson, settings) for lesson in lessons}
        futures = {}
        for submission in submissions:
            lesson = submission.lesson
            task = Task(submission, settings, str(run.course_root), fingerprints[lesson], references[lesson])
            key = f"grade-{submission.student}-{submission.lesson}-{submission.cache_key[:16]}"
            future = client.submit(grade_on_worker, task, key=key, pure=False)
            futures[future] = submission
        for future in as_completed(futures):
            submission = futures.pop(future)
            try:
                row, files = future.result()
            except CourseError:
                raise
            except Exception as error:  # noqa: BLE001 (a task that failed on every try costs its own row)
                yield submission, _error_row(submission, f"the grader failed on the cluster: {error!r}")
                continue
            _unpack(run, submission, files)
            yield submission, row


def _reference(run, client, lesson, settings):
    """The evidence of the lesson's reference run: from the main process's cache, else made on a worker and kept."""
    cached = judge.reference_file(run, lesson)
    if not cached.is_file():
        text = client.submit(reference_on_worker, lesson, settings, str(run.course_root), pure=False).result()
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(text)
    return cached.read_text()


def _error_row(submission, detail):
    return Row(submission.student, submission.lesson, ERROR, detail=detail[:300], max_score=submission.max_score)


def _submission_folders(run, submission):
    """The folders under run.out that grading one submission writes: what travels back from a worker."""
    return [
        run.run_folder(submission),
        run.submitted_notebook(submission).parent,
        run.autograded_notebook(submission).parent,
        run.feedback_folder(submission),
    ]


def _unpack(run, submission, files):
    """Write the files a worker returned ({path relative to DIR: bytes}) in place of what the folders held."""
    folders = _submission_folders(run, submission)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    run.run_folder(submission).mkdir(parents=True)  # where the cache saves the row, whatever the worker made
    for relative, data in files.items():
        path = (run.out / relative).resolve()
        # A path outside the submission's own folders is not the grader's output: never written.
        if not any(path.is_relative_to(folder) for folder in folders):
            raise ValueError(f"a worker returned a file outside the submission's folders: {relative}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# On a worker: one scratch course folder per course and grader, kept for the worker's life.
_WORKER_RUNS = {}
_WORKER_RUNS_LOCK = threading.Lock()


def _worker_run(settings, course_root, lessons):
    """This worker's GradingRun for the course at `course_root` (or its own), its course folder prepared."""
    if not all((Path(course_root) / COURSE_DIRECTORY.source_directory / lesson).is_dir() for lesson in lessons):
        course_root = REPO_ROOT
    if multiprocessing.current_process().daemon:
        raise CourseError(
            f"the Dask worker on {socket.gethostname()} is a daemonic process, which may not start the process each "
            "submission is graded in: start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False"
        )
    isolated, why_not = sandbox.isolation()
    if not (isolated or settings["unsafe"]):
        raise CourseError(f"the Dask worker on {socket.gethostname()} cannot sandbox student code: {why_not}")
    key = (str(course_root), repr(sorted(settings.items())), tuple(lessons))
    with _WORKER_RUNS_LOCK:
        if key not in _WORKER_RUNS:
            make_gradebook_tool_findable()
            scratch = Path(tempfile.mkdtemp(prefix="autograder-worker-"))
            run = GradingRun(scratch / "submissions", scratch / "out", tuple(lessons), course_root, **settings)
            prepare_course(run, list(lessons))
            _WORKER_RUNS[key] = run
        return _WORKER_RUNS[key]


def reference_on_worker(lesson, settings, course_root):
    """The task that makes the lesson's reference run on a worker: its evidence, as judge.py keeps it."""
    run = _worker_run(settings, course_root, [lesson])
    judge.reference_evidence(run, lesson)
    return judge.reference_file(run, lesson).read_text()


def grade_on_worker(task):
    """The task that grades one submission on a worker: (its row, {path relative to DIR: bytes} of the files made)."""
    from autograder.grading.pipeline import grade_submission

    submission = task.submission
    run = _worker_run(task.settings, task.course_root, [submission.lesson])
    found = cache.fingerprint(run, [submission.lesson])
    if found != task.fingerprint:
        raise CourseError(
            f"the Dask worker on {socket.gethostname()} has another version of {submission.lesson} or of the grader "
            f"than the main process (fingerprint {found[:12]}, not {task.fingerprint[:12]}): install the same course"
        )
    reference = judge.reference_file(run, submission.lesson)
    if not reference.is_file():
        reference.parent.mkdir(parents=True, exist_ok=True)
        reference.write_text(task.reference)
    row = grade_submission(run, submission)
    files = {}
    for folder in _submission_folders(run, submission):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.is_symlink():
                files[path.relative_to(run.out).as_posix()] = path.read_bytes()
        shutil.rmtree(folder, ignore_errors=True)
    # nbgrader's own copy of the feedback page, made in the worker's course folder.
    shutil.rmtree(run.course / "feedback" / submission.student / submission.lesson, ignore_errors=True)
    return row, files
