"""Autograde a class's submissions: scores, a CSV and feedback pages.

    python -m autograder grade SUBMISSIONS --out DIR [--timeout SECONDS] [--wall-limit SECONDS]

SUBMISSIONS holds one folder per student. A student's notebook for a lesson may be either
<student>/<lesson>.ipynb or <student>/<lesson>/<lesson>.ipynb, where <lesson> is a folder name
under solutions/ (e.g. 01_momentum). The lessons graded are those named with --lesson, otherwise
every lesson that at least one student submitted.

DIR receives (each replaced on every run):
  grades.csv        one row per student and lesson: student, lesson, status, score, max_score,
                    the score of each graded cell (one column per grade_id), and a detail that says
                    why when something went wrong
  feedback/<student>/<lesson>/<lesson>.html
                    what the student gets back: their notebook as graded, with the test results
  nbgrader/         the nbgrader course folder the grading ran in: gradebook.db, submitted/,
                    autograded/, logs/. To grade written answers by hand, start `jupyter lab`
                    there and open nbgrader's Formgrader.

status is one of
  graded            nbgrader ran the notebook; a cell that ran past --timeout was interrupted and
                    marked with an error (so its exercise's tests fail), and the cells after it still ran
  timed out         the grading of this lesson ran past --wall-limit, or a cell could not be
                    interrupted (a loop inside compiled code); the lesson scores 0
  invalid notebook  the file is not a readable notebook (broken JSON, say); not graded
  missing           no notebook for this lesson
  error             nbgrader failed on this notebook (the kernel died, say); see detail and the log

Every notebook runs with COURSE_FAST=1, in its own nbgrader process, so one broken submission
never stops the batch. The command exits 0 once the batch is done, whatever the students' statuses.
"""
import contextlib
import csv
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autograder.build import (COURSE_DIRECTORY, NBGRADER_CONFIG, REPO_ROOT, CourseError, find_lessons,
                              generate_lessons, select_lessons)

GRADED = "graded"
TIMED_OUT = "timed out"
INVALID = "invalid notebook"
MISSING = "missing"
ERROR = "error"
STATUSES = (GRADED, TIMED_OUT, INVALID, MISSING, ERROR)

DEFAULT_WALL_LIMIT = 600
# The ename nbgrader's Execute preprocessor gives the error it appends to a cell it interrupted.
CELL_TIMEOUT_ENAME = "CellTimeoutError"


@dataclass
class Row:
    """One line of grades.csv: a student's result on one lesson."""

    student: str
    lesson: str
    status: str
    detail: str = ""
    score: float = 0.0
    max_score: float = 0.0
    cell_scores: dict = field(default_factory=dict)
    seconds: float = 0.0


def grade_class(submissions, out, lessons=(), cell_timeout=None, wall_limit=DEFAULT_WALL_LIMIT,
                course_root=REPO_ROOT):
    """Grade every student folder in `submissions`; write grades.csv and feedback/ under `out`.

    Returns the rows of grades.csv. `cell_timeout` overrides the per-cell limit of
    nbgrader_config.py; `wall_limit` bounds the grading of one student's lesson, in seconds.
    """
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    if not submissions.is_dir():
        raise CourseError(f"{submissions} is not a folder")
    if out == Path(course_root).resolve():
        raise CourseError("--out must not be the course root: grading writes an nbgrader course folder there")
    _make_gradebook_tool_findable()
    students = find_students(submissions)
    lessons = select_lessons(lessons, course_root) if lessons else lessons_submitted(submissions, students, course_root)
    if not students or not lessons:
        raise CourseError(f"nothing to grade in {submissions}: it needs one folder per student holding "
                          f"lesson notebooks (lessons: {', '.join(find_lessons(course_root))})")

    course = out / "nbgrader"
    for previous in (course, out / "feedback"):
        shutil.rmtree(previous, ignore_errors=True)
    prepare_course(course, lessons, course_root)

    rows = [grade_submission(course, submissions / student, lesson, cell_timeout, wall_limit)
            for student in students for lesson in lessons]
    generate_feedback(course, out / "feedback", [row for row in rows if row.status == GRADED])
    read_scores(course, rows)
    write_csv(rows, out / "grades.csv", graded_cells(course, lessons))
    return rows


def find_students(submissions):
    """Student ids: the folders in `submissions`, hidden ones (.ipynb_checkpoints, .git) left out."""
    return sorted(folder.name for folder in submissions.iterdir()
                  if folder.is_dir() and not folder.name.startswith("."))


def find_submission(student_dir, lesson):
    """The student's notebook for `lesson` in either accepted layout, or None."""
    for candidate in (student_dir / f"{lesson}.ipynb", student_dir / lesson / f"{lesson}.ipynb"):
        if candidate.is_file():
            return candidate
    return None


def lessons_submitted(submissions, students, course_root=REPO_ROOT):
    """The lessons, in course order, for which at least one student handed in a notebook."""
    return [lesson for lesson in find_lessons(course_root)
            if any(find_submission(submissions / student, lesson) for student in students)]


def unreadable_reason(notebook_path):
    """Why the file cannot be graded as a notebook, or None when nbformat reads it."""
    import nbformat

    try:
        nbformat.read(notebook_path, as_version=4)
    # nbformat reports broken files through many types (NotJSONError, UnicodeDecodeError,
    # jsonschema's ValidationError, AttributeError for a JSON list): any of them means "not a notebook".
    except Exception as error:  # noqa: BLE001
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"{type(error).__name__}: {first_line}"[:200]
    return None


def prepare_course(course, lessons, course_root=REPO_ROOT):
    """Make `course` an nbgrader course folder whose gradebook knows every graded cell of `lessons`."""
    for lesson in lessons:
        shutil.copytree(Path(course_root) / COURSE_DIRECTORY.source_directory / lesson,
                        course / COURSE_DIRECTORY.source_directory / lesson,
                        ignore=shutil.ignore_patterns(*COURSE_DIRECTORY.ignore))
    # nbgrader run by hand in this folder (formgrader, a regrade) then uses the course's settings.
    shutil.copy(NBGRADER_CONFIG, course / "nbgrader_config.py")
    generate_lessons(course, lessons, course / COURSE_DIRECTORY.release_directory, gradebook=course / "gradebook.db")


def grade_submission(course, student_dir, lesson, cell_timeout, wall_limit):
    """Validate and autograde one student's notebook for one lesson; return its row (scores come later)."""
    student = student_dir.name
    notebook = find_submission(student_dir, lesson)
    if notebook is None:
        found = sorted(path.relative_to(student_dir).as_posix() for path in student_dir.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in path.parts)
        # A misnamed file ("01_momentum (1).ipynb") shows up here, for the instructor to rename.
        return Row(student, lesson, MISSING,
                   detail=f"no {lesson}.ipynb in {student}/" + (f" (found: {', '.join(found)})" if found else ""))
    reason = unreadable_reason(notebook)
    if reason:
        return Row(student, lesson, INVALID, detail=reason)

    submitted = course / "submitted" / student / lesson
    submitted.mkdir(parents=True)
    shutil.copy(notebook, submitted / f"{lesson}.ipynb")
    started = time.monotonic()
    status, detail = autograde(course, student, lesson, cell_timeout, wall_limit)
    return Row(student, lesson, status, detail=detail, seconds=time.monotonic() - started)


def autograde(course, student, lesson, cell_timeout, wall_limit):
    """Run `nbgrader autograde` on one submission in its own process; return (status, detail)."""
    log = course / "logs" / student / f"{lesson}.log"
    arguments = ["autograde", lesson, "--student", student, "--force"]
    if cell_timeout is not None:
        arguments.append(f"--Execute.timeout={cell_timeout}")
    returncode = run_nbgrader(course, arguments, log, wall_limit)
    if returncode is None:
        # The autograded folder holds the half-done notebook: it must not get a feedback page.
        shutil.rmtree(course / "autograded" / student / lesson, ignore_errors=True)
        return TIMED_OUT, f"grading ran past the wall-clock limit of {wall_limit} s and was stopped"
    output = log.read_text(errors="replace")
    if returncode != 0 and CELL_TIMEOUT_ENAME in output:
        return TIMED_OUT, "a cell ran past its time limit and could not be interrupted"
    if returncode != 0:
        return ERROR, f"{_last_exception(output)} (log: {log.relative_to(course.parent)})"
    interrupted = interrupted_cells(course / "autograded" / student / lesson / f"{lesson}.ipynb")
    return GRADED, f"interrupted after the time limit: {', '.join(interrupted)}" if interrupted else ""


def run_nbgrader(course, arguments, log, wall_limit=None):
    """Run `python -m nbgrader ARGUMENTS` in the course folder, its output going to `log`.

    Returns the exit status, or None when it ran past `wall_limit` seconds: then it is killed
    together with its kernel.
    """
    command = [sys.executable, "-m", "nbgrader", *arguments, f"--CourseDirectory.root={course}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as log_file:
        # Output goes to a file, not a pipe: a stuck kernel inherits it and would keep a pipe open.
        process = subprocess.Popen(command, cwd=course, stdout=log_file, stderr=subprocess.STDOUT,
                                   env={**os.environ, "COURSE_FAST": "1"})
        try:
            return process.wait(timeout=wall_limit)
        except subprocess.TimeoutExpired:
            _kill_with_descendants(process.pid)
            process.wait()
            return None


def _kill_with_descendants(pid):
    """Kill a process and everything it started.

    The kernel runs in a session of its own, so killing nbgrader's process group would miss it,
    and a kernel stuck in compiled code never gets to notice that its parent is gone.
    """
    import psutil  # a dependency of ipykernel, so present wherever nbgrader can run a notebook

    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:  # it finished on its own in the meantime
        return
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(family, timeout=10)


def _last_exception(log_text):
    """The last 'SomeError: message' line of a log, e.g. 'nbclient.exceptions.DeadKernelError: Kernel died'."""
    found = re.findall(r"^\s*([\w.]*(?:Error|Exception|Interrupt)\b.*)$", log_text, flags=re.MULTILINE)
    return found[-1].strip()[:200] if found else "nbgrader autograde failed"


def interrupted_cells(autograded_notebook):
    """grade_ids (or 'cell N') of the cells nbgrader interrupted for running past the time limit."""
    import nbformat

    notebook = nbformat.read(autograded_notebook, as_version=4)
    return [cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
            for index, cell in enumerate(notebook.cells)
            if any(output.get("ename") == CELL_TIMEOUT_ENAME for output in cell.get("outputs", []))]


def generate_feedback(course, feedback_dir, graded_rows):
    """Write an HTML feedback page per graded submission into feedback_dir/<student>/<lesson>/."""
    for lesson in sorted({row.lesson for row in graded_rows}):
        # One nbgrader run covers every autograded student of the lesson.
        log = course / "logs" / f"generate_feedback_{lesson}.log"
        if run_nbgrader(course, ["generate_feedback", lesson, "--force"], log) != 0:
            print(f"warning: nbgrader generate_feedback {lesson} failed for some students; see {log}")
    for row in graded_rows:
        pages = course / "feedback" / row.student / row.lesson
        if pages.is_dir():
            shutil.copytree(pages, feedback_dir / row.student / row.lesson)


def read_scores(course, rows):
    """Fill in each row's score, max_score and per-cell scores from the nbgrader gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_DIRECTORY.course_id) as gradebook:
        for row in rows:
            row.max_score = gradebook.find_assignment(row.lesson).max_score
            if row.status != GRADED:
                continue  # score stays 0: a submission nbgrader could not run earns nothing automatically
            submission = gradebook.find_submission(row.lesson, row.student)
            row.score = submission.score
            grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
            # No automatic score: a written answer, or a test cell the student's notebook no longer has.
            # Left blank for an instructor to grade by hand (nbgrader formgrader).
            row.cell_scores = {grade.name: "" if grade.needs_manual_grade else grade.score for grade in grades}
            by_hand = [grade.name for grade in grades if grade.needs_manual_grade]
            if by_hand:
                row.detail = "; ".join(filter(None, [row.detail, f"to grade by hand: {', '.join(by_hand)}"]))


def graded_cells(course, lessons):
    """grade_ids of the cells that carry points in each lesson, in notebook order: the per-cell CSV columns."""
    import nbformat

    cells = []
    for lesson in lessons:
        notebook = nbformat.read(course / COURSE_DIRECTORY.source_directory / lesson / f"{lesson}.ipynb", as_version=4)
        # Tests and written answers are "grade" cells; a task (markdown graded by hand) is a "task" cell.
        cells += [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
                  if cell.metadata.get("nbgrader", {}).get("grade") or cell.metadata.get("nbgrader", {}).get("task")]
    return cells


def write_csv(rows, path, cell_ids):
    columns = ["student", "lesson", "status", "score", "max_score", *cell_ids, "detail"]
    with open(path, "w", newline="") as csv_file:
        writer = csv.DictWriter(csv_file, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({"student": row.student, "lesson": row.lesson, "status": row.status,
                             "score": _number(row.score), "max_score": _number(row.max_score),
                             **{cell: _number(score) for cell, score in row.cell_scores.items()},
                             "detail": row.detail})


def _number(value):
    """3.0 -> '3', 2.5 -> '2.5': scores read the way the lesson headings state points."""
    return f"{value:g}" if isinstance(value, float) else value


def print_summary(rows, out, elapsed):
    """A few lines for the terminal: counts by status, mean score per lesson, and every row with a detail."""
    counts = Counter(row.status for row in rows)
    graded = [row for row in rows if row.status == GRADED]
    pace = f", {sum(row.seconds for row in graded) / len(graded):.1f} s per graded notebook" if graded else ""
    print(f"{len(rows)} submissions in {elapsed:.0f} s{pace}: "
          + ", ".join(f"{counts[status]} {status}" for status in STATUSES if counts[status]))
    for lesson in dict.fromkeys(row.lesson for row in rows):
        lesson_rows = [row for row in rows if row.lesson == lesson]
        mean = sum(row.score for row in lesson_rows) / len(lesson_rows)
        print(f"  {lesson}: mean score {mean:.2f} of {_number(lesson_rows[0].max_score)}")
    for row in rows:
        if row.detail:
            print(f"  {row.student}, {row.lesson}: {row.status}; {row.detail}")
    print(f"Scores in {out / 'grades.csv'}, feedback pages in {out / 'feedback'}")


def _make_gradebook_tool_findable():
    """Put this interpreter's scripts folder on PATH.

    nbgrader's Gradebook runs the `alembic` command to check the database schema; under `make`, or
    with .venv/bin/python called directly, the virtual environment is not activated and the command
    is not found. Setting it here covers both this process and the nbgrader processes it starts.
    """
    scripts = sysconfig.get_path("scripts")
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def add_arguments(parser):
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                        help="folder with one subfolder per student")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="where grades.csv, feedback/ and the nbgrader course folder go")
    parser.add_argument("--timeout", type=int, metavar="SECONDS",
                        help="per-cell time limit; a cell running longer is interrupted and scores 0 "
                             f"(default: Execute.timeout in {NBGRADER_CONFIG.name})")
    parser.add_argument("--wall-limit", type=int, default=DEFAULT_WALL_LIMIT, metavar="SECONDS",
                        help="time limit for grading one student's lesson, after which it is stopped "
                             "and marked 'timed out' (default: %(default)s)")
    parser.add_argument("--lesson", action="append", default=[], dest="lessons", metavar="LESSON",
                        help="grade only this lesson (repeatable; default: every lesson someone submitted)")
    parser.add_argument("--course-root", type=Path, default=REPO_ROOT,
                        help="folder holding solutions/ (default: this repository)")


def run(args):
    """Entry point of `python -m autograder grade`; returns the exit status."""
    started = time.monotonic()
    rows = grade_class(args.submissions, args.out, args.lessons, args.timeout, args.wall_limit, args.course_root)
    print_summary(rows, args.out, time.monotonic() - started)
    return 0
