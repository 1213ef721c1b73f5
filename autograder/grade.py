"""Autograde a class's submissions: scores, a CSV and feedback pages.

    python -m autograder grade SUBMISSIONS --out DIR [--jobs N] [--timeout S] [--wall-limit S]
                                                     [--memory-mb MB] [--cpu-limit S]

SUBMISSIONS is a folder with one subfolder per student, or a zip of one (an LMS bulk download from
Moodle or Canvas works too): see autograder/submissions.py for the names it understands. Every
file it cannot map to one student and one lesson is listed in DIR/unmapped.txt and in the summary.
The lessons graded are those named with --lesson, otherwise every lesson someone submitted.

DIR receives:
  grades.csv        one row per student and lesson: student, lesson, status, score, max_score,
                    the score of each graded cell (one column per grade_id), failures (each failed
                    test's error, naming the known mistake the answer matches when there is one),
                    flags (integrity findings, see below) and a detail that says why when
                    something went wrong
  feedback/<student>/<lesson>/<lesson>.html
                    what the student gets back: their notebook as graded, with the test results
  unmapped.txt      the files that were not graded, and why
  nbgrader/         the nbgrader course folder: gradebook.db (every graded submission, for the
                    Formgrader's manual grading), submitted/, autograded/, logs/, runs/ (one
                    folder per submission with its own gradebook and result)

status is one of
  graded            nbgrader ran the notebook; a cell that ran past --timeout was interrupted and
                    marked with an error (its exercise's tests fail), and the cells after it still ran
  timed out         the lesson ran past --wall-limit, used up --cpu-limit, or a cell could not be
                    interrupted; the lesson scores 0
  kernel died       the kernel crashed (os._exit, a segfault, killed); the lesson scores 0
  invalid notebook  the file is not a readable notebook (broken JSON, say); not graded
  missing           no notebook for this lesson
  error             nbgrader failed on this notebook for another reason; see detail and the log

Grading is parallel (--jobs) and repeatable: each submission is autograded in its own nbgrader
process against its own copy of the gradebook, and only this process writes DIR/nbgrader/gradebook.db,
one submission at a time, so concurrency cannot corrupt it. Running the command again regrades
only the submissions whose notebook or grading settings changed (all of them when a lesson's source
changed) and reuses the earlier results of the others.

Student code runs in the sandbox of autograder/sandbox.py (memory, CPU time and file size caps, no
network, the grader's folders hidden; nbgrader's LimitOutput trims what a print flood leaves in the
graded notebook), with the test cells restored from the source and
helpers guarded by autograder/kernel_guard.py; autograder/integrity.py adds the static flags.
The command exits 0 once the batch is done, whatever the students' statuses.
"""
import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import integrity, sandbox
from autograder.build import (COURSE_DIRECTORY, NBGRADER_CONFIG, REPO_ROOT, CourseError, find_lessons,
                              generate_lessons, select_lessons)
from autograder.submissions import collect

GRADED = "graded"
TIMED_OUT = "timed out"
KERNEL_DIED = "kernel died"
INVALID = "invalid notebook"
MISSING = "missing"
ERROR = "error"
STATUSES = (GRADED, TIMED_OUT, KERNEL_DIED, INVALID, MISSING, ERROR)

DEFAULT_WALL_LIMIT = 600
# The ename nbgrader's Execute preprocessor gives the error it appends to a cell it interrupted.
CELL_TIMEOUT_ENAME = "CellTimeoutError"
# Bump when a change here alters grades, so that the next run regrades everything.
GRADER_VERSION = "2"


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
    failures: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    seconds: float = 0.0
    regraded: bool = True


@dataclass
class Settings:
    """Everything besides the notebook that a grade depends on: a change regrades."""

    cell_timeout: int = None
    wall_limit: int = DEFAULT_WALL_LIMIT
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)


def grade_class(submissions, out, lessons=(), settings=None, jobs=1, course_root=REPO_ROOT):
    """Grade every student's submissions; write grades.csv, feedback/ and unmapped.txt under `out`.

    Returns the rows of grades.csv and the list of submissions it could not map.
    """
    settings = settings or Settings()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    if not submissions.exists():
        raise CourseError(f"{submissions} does not exist")
    if out == Path(course_root).resolve():
        raise CourseError("--out must not be the course root: grading writes an nbgrader course folder there")
    _make_gradebook_tool_findable()
    known = find_lessons(course_root)
    intake = collect(submissions, known)
    lessons = select_lessons(lessons, course_root) if lessons else \
        [lesson for lesson in known if any(key[1] == lesson for key in intake.notebooks)]
    if not intake.students or not lessons:
        raise CourseError(f"nothing to grade in {submissions}: it needs one folder per student holding "
                          f"lesson notebooks (lessons: {', '.join(known)})" + _problem_list(intake.problems))
    isolated, why_not = sandbox.isolation()
    if not isolated:
        print(f"warning: student code runs without network isolation or hidden folders: {why_not}")

    course = out / "nbgrader"
    prepare_course(course, out / "feedback", lessons, course_root)
    hidden = [course / name for name in ("source", "release", "submitted", "runs", "autograded", "feedback",
                                         "gradebook.db")] + [out / "feedback", submissions,
                                                             Path(course_root).resolve() / "solutions"]
    fingerprint = _fingerprint(settings, lessons, course_root)
    max_scores = lesson_max_scores(course, lessons)
    rows, work = [], []
    for student in sorted(intake.students):
        for lesson in lessons:
            row = previous_result(course, student, lesson, intake, fingerprint)
            if row is None:
                work.append((student, lesson))
            else:
                rows.append(row)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rows += pool.map(lambda key: grade_submission(course, out / "feedback", key[0], key[1], intake, settings,
                                                      hidden, fingerprint, max_scores[key[1]]), work)
    merge_into_gradebook(course, [row for row in rows if row.regraded])
    rows.sort(key=lambda row: (row.student, lessons.index(row.lesson)))
    write_csv(rows, out / "grades.csv", graded_cells(course, lessons))
    (out / "unmapped.txt").write_text("".join(problem + "\n" for problem in intake.problems))
    return rows, intake.problems


def _problem_list(problems):
    return "".join(f"\n  {problem}" for problem in problems)


def _fingerprint(settings, lessons, course_root):
    """A digest of what every grade depends on besides the notebook: settings, lesson sources, the grader."""
    digest = hashlib.sha256(json.dumps([GRADER_VERSION, asdict(settings)], sort_keys=True).encode())
    autograder_dir = Path(__file__).parent
    sources = sorted(autograder_dir.rglob("*.py")) + sorted(
        path for lesson in lessons for path in (Path(course_root) / COURSE_DIRECTORY.source_directory / lesson).rglob("*")
        if path.is_file() and ".ipynb_checkpoints" not in path.parts)
    for path in sources:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def prepare_course(course, feedback_dir, lessons, course_root=REPO_ROOT):
    """Make `course` an nbgrader course folder whose gradebook knows every graded cell of `lessons`.

    Kept between runs while the lessons' sources are unchanged, so earlier results stay valid;
    rebuilt from scratch (with the feedback pages) when they changed.
    """
    sources = {lesson: _digest_folder(Path(course_root) / COURSE_DIRECTORY.source_directory / lesson)
               for lesson in lessons}
    state = course / "lessons.json"
    if state.is_file() and json.loads(state.read_text()) == sources:
        return
    for previous in (course, feedback_dir):
        shutil.rmtree(previous, ignore_errors=True)
    for lesson in lessons:
        shutil.copytree(Path(course_root) / COURSE_DIRECTORY.source_directory / lesson,
                        course / COURSE_DIRECTORY.source_directory / lesson,
                        ignore=shutil.ignore_patterns(*COURSE_DIRECTORY.ignore))
    # nbgrader run by hand in this folder (formgrader, a regrade) then uses the course's settings.
    shutil.copy(NBGRADER_CONFIG, course / "nbgrader_config.py")
    generate_lessons(course, lessons, course / COURSE_DIRECTORY.release_directory, gradebook=course / "gradebook.db")
    # Each submission is graded against a copy of this gradebook that knows the lessons and no student.
    shutil.copy(course / "gradebook.db", course / "template.db")
    sandbox.install_kernelspec(course / "jupyter")
    state.write_text(json.dumps(sources))


def _digest_folder(folder):
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def previous_result(course, student, lesson, intake, fingerprint):
    """The row of the last run when neither this notebook nor the grading changed since, else None."""
    result = course / "runs" / student / lesson / "result.json"
    if not result.is_file():
        return None
    saved = json.loads(result.read_text())
    if saved["fingerprint"] != _submission_digest(fingerprint, intake, student, lesson):
        return None
    return Row(**{**saved["row"], "regraded": False})


def _submission_digest(fingerprint, intake, student, lesson):
    notebook = intake.notebooks.get((student, lesson), b"missing")
    return hashlib.sha256(fingerprint.encode() + notebook).hexdigest()


def lesson_max_scores(course, lessons):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'template.db'}", COURSE_DIRECTORY.course_id) as gradebook:
        return {lesson: gradebook.find_assignment(lesson).max_score for lesson in lessons}


def grade_submission(course, feedback_dir, student, lesson, intake, settings, hidden, fingerprint, max_score):
    """Validate, autograde and write feedback for one student's lesson; save and return its row."""
    run_dir = course / "runs" / student / lesson
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.rmtree(feedback_dir / student / lesson, ignore_errors=True)
    run_dir.mkdir(parents=True)
    row = _grade(course, run_dir, feedback_dir, student, lesson, intake, settings, hidden)
    row.max_score = max_score
    (run_dir / "result.json").write_text(json.dumps(
        {"fingerprint": _submission_digest(fingerprint, intake, student, lesson), "row": asdict(row)}))
    return row


def _grade(course, run_dir, feedback_dir, student, lesson, intake, settings, hidden):
    import nbformat

    data = intake.notebooks.get((student, lesson))
    if data is None:
        mine = [problem for problem in intake.problems if problem.startswith(student)]
        return Row(student, lesson, MISSING, detail=f"no {lesson}.ipynb from {student}" +
                   (f" ({'; '.join(mine)})" if mine else ""))
    try:
        notebook = read_notebook(data)
    # nbformat reports broken files through many types (NotJSONError, UnicodeDecodeError,
    # jsonschema's ValidationError, AttributeError for a JSON list): any of them means "not a notebook".
    except Exception as error:  # noqa: BLE001
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return Row(student, lesson, INVALID, detail=f"{type(error).__name__}: {first_line}"[:200])

    submitted = course / "submitted" / student / lesson
    shutil.rmtree(submitted, ignore_errors=True)
    submitted.mkdir(parents=True)
    # Written back as the current nbformat, so an old (v3) notebook is graded like any other.
    nbformat.write(notebook, submitted / f"{lesson}.ipynb")
    source = course / COURSE_DIRECTORY.source_directory / lesson / f"{lesson}.ipynb"
    release = course / COURSE_DIRECTORY.release_directory / lesson / f"{lesson}.ipynb"
    flags = integrity.scan(notebook, nbformat.read(release, as_version=4), nbformat.read(source, as_version=4))

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        kernel = sandbox.KernelSettings(settings.limits, exit_report=str(run_dir / "kernel-exit.txt"),
                                        guard_report=str(Path(scratch) / ".guard-report"), scratch=scratch,
                                        hidden=[str(path) for path in hidden])
        status, detail = autograde(course, run_dir, student, lesson, settings, kernel)
        guard_report = Path(kernel.guard_report)
        flags += guard_report.read_text().splitlines() if guard_report.is_file() else []
    row = Row(student, lesson, status, detail=detail, flags=list(dict.fromkeys(flags)),
              seconds=time.monotonic() - started)
    if status == GRADED:
        read_scores(run_dir / "gradebook.db", row)
        row.failures = failed_tests(course / "autograded" / student / lesson / f"{lesson}.ipynb")
        write_feedback(course, run_dir, feedback_dir, student, lesson)
    return row


def read_notebook(data):
    """The notebook in `data` (bytes) as nbformat 4, validated; raises when it is not a notebook."""
    import nbformat

    notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    return notebook


def autograde(course, run_dir, student, lesson, settings, kernel):
    """Run `nbgrader autograde` on one submission in its own process and gradebook; return (status, detail)."""
    shutil.copy(course / "template.db", run_dir / "gradebook.db")
    log = run_dir / "autograde.log"
    # Unix sockets, by absolute path, so they reach a kernel in its own network namespace and working directory.
    arguments = ["autograde", lesson, "--student", student, "--force", f"--Execute.kernel_name={sandbox.KERNEL_NAME}",
                 "--KernelManager.transport=ipc", f"--KernelManager.ip={Path(kernel.scratch) / 'kernel-ipc'}"]
    if settings.cell_timeout is not None:
        arguments.append(f"--Execute.timeout={settings.cell_timeout}")
    returncode = run_nbgrader(course, run_dir, arguments, log, settings.wall_limit, kernel.environment())
    if returncode is None:
        # The autograded folder holds the half-done notebook: it must not get a feedback page.
        shutil.rmtree(course / "autograded" / student / lesson, ignore_errors=True)
        return TIMED_OUT, f"grading ran past the wall-clock limit of {settings.wall_limit} s and was stopped"
    output = log.read_text(errors="replace")
    exit_report = Path(kernel.exit_report)
    kernel_end = exit_report.read_text() if exit_report.is_file() else ""
    if returncode != 0 and "SIGXCPU" in kernel_end:
        return TIMED_OUT, kernel_end
    if returncode != 0 and CELL_TIMEOUT_ENAME in output:
        return TIMED_OUT, "a cell ran past its time limit and could not be interrupted"
    if returncode != 0 and "DeadKernelError" in output:
        return KERNEL_DIED, f"the kernel died ({kernel_end or 'no exit status'}); log: {log.relative_to(course.parent)}"
    if returncode != 0:
        return ERROR, f"{_last_exception(output)} (log: {log.relative_to(course.parent)})"
    interrupted = interrupted_cells(course / "autograded" / student / lesson / f"{lesson}.ipynb")
    return GRADED, f"interrupted after the time limit: {', '.join(interrupted)}" if interrupted else ""


def run_nbgrader(course, run_dir, arguments, log, wall_limit=None, environment=None):
    """Run `python -m nbgrader ARGUMENTS` on the course with the gradebook of `run_dir`, its output going to `log`.

    Returns the exit status, or None when it ran past `wall_limit` seconds: then it is killed
    together with its kernel.
    """
    command = [sys.executable, "-m", "nbgrader", *arguments, f"--CourseDirectory.root={course}",
               f"--CourseDirectory.db_url=sqlite:///{run_dir / 'gradebook.db'}"]
    with open(log, "w") as log_file:
        # Output goes to a file, not a pipe: a stuck kernel inherits it and would keep a pipe open.
        # The course folder holds nbgrader_config.py; JUPYTER_PATH makes the sandbox kernelspec findable.
        process = subprocess.Popen(command, cwd=course, stdout=log_file, stderr=subprocess.STDOUT,
                                   env={**os.environ, "COURSE_FAST": "1", "JUPYTER_PATH": str(course / "jupyter"),
                                        **(environment or {})})
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


def failed_tests(autograded_notebook):
    """'grade_id: the error' for each test cell that failed, with the message checks.py wrote (the mistake it matches)."""
    import nbformat

    notebook = nbformat.read(autograded_notebook, as_version=4)
    failures = []
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if not nbgrader.get("grade") or cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = " ".join(str(output.get("evalue", "")).split())
                failures.append(f"{nbgrader['grade_id']}: {output.get('ename')}: {message}"[:400])
    return failures


def write_feedback(course, run_dir, feedback_dir, student, lesson):
    """Write the student's HTML feedback page for the lesson into feedback_dir/<student>/<lesson>/."""
    log = run_dir / "feedback.log"
    if run_nbgrader(course, run_dir, ["generate_feedback", lesson, "--student", student, "--force"], log) != 0:
        print(f"warning: nbgrader generate_feedback failed for {student}, {lesson}; see {log}")
        return
    shutil.copytree(course / "feedback" / student / lesson, feedback_dir / student / lesson)


def read_scores(gradebook_path, row):
    """Fill in the row's score, max_score and per-cell scores from a submission's own gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{gradebook_path}", COURSE_DIRECTORY.course_id) as gradebook:
        submission = gradebook.find_submission(row.lesson, row.student)
        row.score = submission.score
        grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
        # No automatic score: a written answer, left blank for an instructor to grade by hand (Formgrader).
        row.cell_scores = {grade.name: "" if grade.needs_manual_grade else grade.score for grade in grades}
        by_hand = [grade.name for grade in grades if grade.needs_manual_grade]
        if by_hand:
            row.detail = "; ".join(filter(None, [row.detail, f"to grade by hand: {', '.join(by_hand)}"]))


def merge_into_gradebook(course, rows):
    """Copy each regraded submission from its own gradebook into the course's gradebook.db.

    Only this function writes gradebook.db, from the main process and one submission at a time,
    so the parallel nbgrader processes never contend for it. A submission no longer graded (now
    invalid, say) is removed, so the Formgrader never shows a stale result.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_DIRECTORY.course_id) as gradebook:
        for row in rows:
            gradebook.update_or_create_student(row.student)
            with contextlib.suppress(MissingEntry):
                gradebook.remove_submission(row.lesson, row.student)
            if row.status != GRADED:
                continue
            with Gradebook(f"sqlite:///{course / 'runs' / row.student / row.lesson / 'gradebook.db'}",
                           COURSE_DIRECTORY.course_id) as own:
                graded = own.find_submission(row.lesson, row.student)
                gradebook.add_submission(row.lesson, row.student, timestamp=graded.timestamp)
                for notebook in graded.notebooks:
                    for grade in notebook.grades:
                        target = gradebook.find_grade(grade.name, notebook.name, row.lesson, row.student)
                        target.auto_score, target.needs_manual_grade = grade.auto_score, grade.needs_manual_grade
                    for comment in notebook.comments:
                        gradebook.find_comment(comment.name, notebook.name, row.lesson, row.student) \
                            .auto_comment = comment.auto_comment
            gradebook.db.commit()


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
    columns = ["student", "lesson", "status", "score", "max_score", *cell_ids, "failures", "flags", "detail"]
    with open(path, "w", newline="") as csv_file:
        writer = csv.DictWriter(csv_file, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({"student": row.student, "lesson": row.lesson, "status": row.status,
                             "score": _number(row.score), "max_score": _number(row.max_score),
                             **{cell: _number(score) for cell, score in row.cell_scores.items()},
                             "failures": " | ".join(row.failures), "flags": "; ".join(row.flags),
                             "detail": row.detail})


def _number(value):
    """3.0 -> '3', 2.5 -> '2.5': scores read the way the lesson headings state points."""
    return f"{value:g}" if isinstance(value, float) else value


def print_summary(rows, problems, out, elapsed):
    """A few lines for the terminal: counts by status, mean score per lesson, every row with a detail or flag."""
    counts = Counter(row.status for row in rows)
    regraded = [row for row in rows if row.regraded and row.status == GRADED]
    pace = f", {sum(row.seconds for row in regraded) / len(regraded):.1f} s per graded notebook" if regraded else ""
    print(f"{len(rows)} submissions in {elapsed:.0f} s ({sum(row.regraded for row in rows)} regraded{pace}): "
          + ", ".join(f"{counts[status]} {status}" for status in STATUSES if counts[status]))
    for lesson in dict.fromkeys(row.lesson for row in rows):
        lesson_rows = [row for row in rows if row.lesson == lesson]
        mean = sum(row.score for row in lesson_rows) / len(lesson_rows)
        print(f"  {lesson}: mean score {mean:.2f} of {_number(lesson_rows[0].max_score)}")
    for row in rows:
        if row.detail or row.flags:
            print(f"  {row.student}, {row.lesson}: {row.status}; {'; '.join(filter(None, [row.detail, *row.flags]))}")
    if problems:
        print(f"Not graded ({out / 'unmapped.txt'}):" + _problem_list(problems))
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
    defaults = sandbox.Limits()
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                        help="folder with one subfolder per student, or a zip of one (LMS downloads too)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="where grades.csv, feedback/ and the nbgrader course folder go")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="notebooks graded at the same time (default: %(default)s)")
    parser.add_argument("--timeout", type=int, metavar="SECONDS",
                        help="per-cell time limit; a cell running longer is interrupted and scores 0 "
                             f"(default: Execute.timeout in {NBGRADER_CONFIG.name})")
    parser.add_argument("--wall-limit", type=int, default=DEFAULT_WALL_LIMIT, metavar="SECONDS",
                        help="time limit for grading one student's lesson, after which it is stopped "
                             "and marked 'timed out' (default: %(default)s)")
    parser.add_argument("--memory-mb", type=int, default=defaults.memory_mb, metavar="MB",
                        help="address-space cap of a kernel; 0: none (default: %(default)s)")
    parser.add_argument("--cpu-limit", type=int, default=defaults.cpu_seconds, metavar="SECONDS",
                        help="CPU seconds a kernel may use; 0: no limit (default: %(default)s)")
    parser.add_argument("--lesson", action="append", default=[], dest="lessons", metavar="LESSON",
                        help="grade only this lesson (repeatable; default: every lesson someone submitted)")
    parser.add_argument("--course-root", type=Path, default=REPO_ROOT,
                        help="folder holding solutions/ (default: this repository)")


def run(args):
    """Entry point of `python -m autograder grade`; returns the exit status."""
    started = time.monotonic()
    limits = sandbox.Limits(memory_mb=args.memory_mb, cpu_seconds=args.cpu_limit)
    settings = Settings(cell_timeout=args.timeout, wall_limit=args.wall_limit, limits=limits)
    rows, problems = grade_class(args.submissions, args.out, args.lessons, settings, args.jobs, args.course_root)
    print_summary(rows, problems, args.out, time.monotonic() - started)
    return 0
