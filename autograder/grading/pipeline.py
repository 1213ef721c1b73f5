"""Grading as a pipeline: the steps a class goes through, and the steps of each submission.

A class: intake -> the instructor's manual entries saved -> course folder -> cache (reuse what is unchanged) ->
each remaining submission, `jobs` at a time here or on a Dask cluster (cluster.py), merged into the course
gradebook and saved for the cache as it comes -> every row's scores read from the course gradebook -> feedback
pages refreshed where the manual entries changed -> report (grades.csv, report.html). A submission: intake's
checks (missing? a notebook?) -> integrity scan -> sandboxed nbgrader run of the notebook as structure.py repairs
it -> status -> when graded: the judge's verdict on the test cells (judge.py, against the lesson's reference run)
-> failed tests and feedback page.
A notebook that makes a step fail unforeseen gets an `error` row of its own; the batch goes on.
"""

import shutil
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import nbformat

from autograder.build import CourseError
from autograder.grading import cache, cluster, integrity, judge, sandbox, structure
from autograder.grading.course_folder import prepare_course
from autograder.grading.feedback import write_feedback
from autograder.grading.gradebook import make_gradebook_tool_findable, open_gradebook, read_scores
from autograder.grading.graded_notebook import failed_tests
from autograder.grading.intake import read_notebook, read_submissions
from autograder.grading.manual_grading import graded_cells, merge_submission, refresh_feedback, save_instructor_entries
from autograder.grading.nbgrader_run import autograde
from autograder.grading.records import Row, Submission
from autograder.grading.report import write_report
from autograder.grading.status import ERROR, GRADED, INVALID, MISSING, autograde_status


def grade_class(run):
    """Grade every student's submissions; write grades.csv, feedback/ and unmapped.txt under run.out.

    Returns the rows of grades.csv and the list of files it could not map.
    """
    if not run.submissions.exists():
        raise CourseError(f"{run.submissions} does not exist")
    if run.out == run.course_root:
        raise CourseError("--out must not be the course root: grading writes an nbgrader course folder there")
    make_gradebook_tool_findable()
    intake, lessons = read_submissions(run)
    isolated, why_not = sandbox.isolation()
    # On a cluster, each worker checks its own sandbox (autograder/grading/cluster.py).
    if not (isolated or run.unsafe or run.scheduler):
        raise CourseError(
            f"student code needs a sandbox to be graded, and {why_not}. Install it, or pass --unsafe-no-sandbox "
            "to grade notebooks you trust without one (their code could then read and change your files)"
        )

    # First: a changed lesson makes prepare_course rebuild the course folder, gradebook.db included.
    save_instructor_entries(run)
    prepare_course(run, lessons)
    fingerprint = cache.fingerprint(run, lessons)
    # The cells that carry points, read once: the lessons' points, the CSV's columns, which cells wait for a hand.
    cells = {lesson: graded_cells(nbformat.read(run.source_notebook(lesson), as_version=4)) for lesson in lessons}
    rows, to_grade = [], []
    for student in sorted(intake.students):
        for lesson in lessons:
            notebook = intake.notebooks.get((student, lesson))
            submission = Submission(
                student,
                lesson,
                notebook,
                tuple(intake.problems_of(student)),
                sum(cell.points for cell in cells[lesson]),
                cache.cache_key(fingerprint, notebook),
            )
            row = cache.earlier_row(run, submission)
            if row is None:
                to_grade.append(submission)
            else:
                rows.append(row)
    with open_gradebook(run.course / "gradebook.db") as gradebook:
        # Merged one at a time, as they come, by this process: the course gradebook's only writer. A row is saved
        # for the cache once merged, so that a row reused later is always the one the gradebook holds.
        for submission, row in graded(run, to_grade):
            merge_submission(run, gradebook, row)
            cache.save_row(run, submission, row)
            rows.append(row)
    read_scores(run, rows, cells)
    for row in rows:
        row.submitted_as = intake.original_ids.get(row.student, "")
    refresh_feedback(run, rows)
    rows.sort(key=lambda row: (row.student, lessons.index(row.lesson)))
    write_report(run, rows, cells, intake.problems)
    return rows, intake.problems


def graded(run, submissions):
    """(submission, row) for each of `submissions` once graded: on the run's Dask cluster, or here, `run.jobs` at a
    time."""
    if run.scheduler:
        yield from cluster.graded(run, submissions)
        return
    with ThreadPoolExecutor(max_workers=max(1, run.jobs)) as pool:
        yield from zip(submissions, pool.map(partial(grade_submission, run), submissions))


def grade_submission(run, submission):
    """Validate, autograde and write feedback for one submission; return its row (its scores are read later)."""
    shutil.rmtree(run.run_folder(submission), ignore_errors=True)
    shutil.rmtree(run.feedback_folder(submission), ignore_errors=True)
    run.run_folder(submission).mkdir(parents=True)
    try:
        row = _grade(run, submission)
    # A fault of the course, not of the notebook (a solution failing its own tests), would cost every row: it stops
    # the batch with its reason.
    except CourseError:
        raise
    # A notebook the grader did not foresee costs its own row, never the batch: the traceback is kept for a fix.
    except Exception as error:  # noqa: BLE001
        (run.run_folder(submission) / "grader-error.txt").write_text(traceback.format_exc())
        where = (run.run_folder(submission) / "grader-error.txt").relative_to(run.out)
        row = Row(
            submission.student, submission.lesson, ERROR, detail=f"the grader failed: {error!r}"[:200] + f" ({where})"
        )
    row.max_score = submission.max_score
    return row


def _grade(run, submission):
    student, lesson = submission.student, submission.lesson
    if submission.notebook is None:
        return Row(
            student,
            lesson,
            MISSING,
            detail=f"no {lesson}.ipynb from {student}"
            + (f" ({'; '.join(submission.unmapped)})" if submission.unmapped else ""),
        )
    try:
        notebook = read_notebook(submission.notebook)
    # nbformat reports broken files through many types (NotJSONError, UnicodeDecodeError,
    # jsonschema's ValidationError, AttributeError for a JSON list): any of them means "not a notebook".
    except Exception as error:  # noqa: BLE001
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return Row(student, lesson, INVALID, detail=f"{type(error).__name__}: {first_line}"[:200])

    release = nbformat.read(run.release_notebook(lesson), as_version=4)
    # The flags describe the notebook as handed in; nbgrader grades it repaired.
    flags = integrity.scan(notebook, release, nbformat.read(run.source_notebook(lesson), as_version=4))
    try:
        notebook, notes = structure.repair(notebook, release)
    except structure.StructureError as error:
        return Row(student, lesson, INVALID, detail=str(error))
    if notes:
        notebook.cells.insert(0, structure.notes_cell(notes))
    started = time.monotonic()
    outcome = autograde(run, submission, notebook)
    status, detail = autograde_status(run, submission, outcome)
    row = Row(
        student,
        lesson,
        status,
        detail="; ".join(filter(None, [*notes, detail])),
        flags=list(dict.fromkeys(flags + [sentence for _, sentence in outcome.guard_events])),
        seconds=time.monotonic() - started,
    )
    if status == GRADED:
        row.flags += judge.judge(run, submission, outcome)
        row.failures = failed_tests(run.autograded_notebook(submission))
        write_feedback(run, submission)
    return row
