"""Autograde a class's submissions: scores, a CSV and feedback pages.

    python -m autograder grade SUBMISSIONS --out DIR [--jobs N] [--timeout S] [--wall-limit S]
                                                     [--memory-mb MB] [--cpu-limit S] [--disk-mb MB]
                                                     [--reference-cache FOLDER] [--scheduler ADDRESS]
                                                     [--unsafe-no-sandbox]

SUBMISSIONS is a folder with one subfolder per student, or a zip of one (an LMS bulk download from
Moodle or Canvas works too): see autograder/grading/intake.py for the names it understands. Every
file it cannot map to one student and one lesson is listed in DIR/unmapped.txt and in the summary.
The lessons graded are those named with --lesson, otherwise every lesson someone submitted.

DIR receives:
  grades.csv        one row per student and lesson: student, submitted_as (the name as handed in,
                    when the student id had to be made safe), lesson, status, score, max_score,
                    auto_score and auto_max_score (the test cells' points), manual_score and
                    manual_max_score (the points of the written answers, graded by hand in Formgrader),
                    manual_pending (the grade_ids of written answers still without a score, space-
                    separated), the score of each graded cell (one column per grade_id; empty for a
                    written answer still waiting), failures (each failed test's error, naming the
                    known mistake the answer matches when there is one), flags (integrity findings,
                    see below) and a detail that says why when something went wrong. score is
                    auto_score + manual_score, as nbgrader counts it (a manual score replaces the
                    automatic one, extra credit is added); while a written answer waits, score and
                    manual_score are empty: a partial score is never reported as final
  feedback/<student>/<lesson>/<lesson>.html
                    what the student gets back: their notebook as graded, with the test results,
                    and the manual scores and comments once given
  report.html       the class at a glance (figures in report/): score distributions per lesson and
                    exercise, the most frequent named mistakes, flags, statuses, manual grading
                    pending, time per submission (autograder/grading/class_report.py)
  unmapped.txt      the files that were not graded, and why
  sandbox.txt       how student code ran: in the sandbox, or UNSAFE without it
  nbgrader/         the nbgrader course folder: gradebook.db (every graded submission, for the
                    Formgrader's manual grading), submitted/, autograded/, logs/, runs/ (one
                    folder per submission with its own gradebook and result)
  manual_grades/<student>/<lesson>.json
                    what the instructor entered in Formgrader on that submission, with digests of
                    the answers it judged: kept when the course folder is rebuilt, and carried over
                    to a regraded submission wherever the answer is unchanged

Written answers: grade the class, score the written answers in Formgrader (DIR/nbgrader), then run
the same command again: it regrades nothing that did not change, reads the manual scores and comments
from DIR/nbgrader/gradebook.db into grades.csv and rewrites the feedback pages they changed.

status is one of
  graded            nbgrader ran the notebook; a cell that ran past --timeout was interrupted and
                    marked with an error (its exercise's tests fail), and the cells after it still ran
  needs manual grading
                    graded, but a written answer still waits for its score in Formgrader: score is
                    empty until it has one (auto_score is filled; manual_pending names the cells)
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
changed) and reuses the earlier results of the others. With --scheduler, the submissions are graded
on a Dask cluster's workers instead (autograder/grading/cluster.py; README: grading on a cluster); this
process still writes everything under DIR.

Student code runs in the bubblewrap sandbox of autograder/grading/sandbox.py (a uid of its own when
the grader is root, its own PID, mount and network namespaces, the course read-only, nothing of the
grader's visible, memory, CPU time, file, disk and process caps); without bubblewrap the command
refuses to grade unless given --unsafe-no-sandbox (DIR/sandbox.txt says which). The test cells are
restored from the source, helpers guarded by autograder/grading/kernel_guard.py, and
autograder/grading/integrity.py adds the static flags. A test cell keeps its points only if the values its
checks compared agree, judged outside the kernel, with those of the lesson's reference run (the solution
graded alone, once per lesson; autograder/grading/judge.py). What a student can and cannot do: README.
The command exits 0 once the batch is done, whatever the students' statuses.
The code, one step a module: autograder/grading/__init__.py.
"""

import time
from pathlib import Path

from autograder.build import NBGRADER_CONFIG, REPO_ROOT
from autograder.grading.records import DEFAULT_WALL_LIMIT, GradingRun
from autograder.grading.sandbox import Limits


def add_arguments(parser):
    defaults = Limits()
    parser.add_argument(
        "submissions",
        type=Path,
        metavar="SUBMISSIONS",
        help="folder with one subfolder per student, or a zip of one (LMS downloads too)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="where grades.csv, feedback/ and the nbgrader course folder go",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="notebooks graded at the same time (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        metavar="SECONDS",
        help="per-cell time limit; a cell running longer is interrupted and scores 0 "
        f"(default: Execute.timeout in {NBGRADER_CONFIG.name})",
    )
    parser.add_argument(
        "--wall-limit",
        type=int,
        default=DEFAULT_WALL_LIMIT,
        metavar="SECONDS",
        help="time limit for grading one student's lesson, after which it is stopped "
        "and marked 'timed out' (default: %(default)s)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=defaults.memory_mb,
        metavar="MB",
        help="RAM a kernel may hold, its tmpfs (--disk-mb) included; 0: no cap (default: %(default)s)",
    )
    parser.add_argument(
        "--cpu-limit",
        type=int,
        default=defaults.cpu_seconds,
        metavar="SECONDS",
        help="CPU seconds a kernel may use; 0: no limit (default: %(default)s)",
    )
    parser.add_argument(
        "--disk-mb",
        type=int,
        default=defaults.disk_mb,
        metavar="MB",
        help="what a kernel may write in all (a tmpfs, counted in --memory-mb) (default: %(default)s)",
    )
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        dest="unsafe",
        help="run student code without the sandbox, where bubblewrap is missing: only for notebooks you trust, "
        "since their code can then read and change your files (said in the summary and DIR/sandbox.txt)",
    )
    parser.add_argument(
        "--reference-cache",
        type=Path,
        metavar="FOLDER",
        help="where to keep the evidence of each lesson's reference run, to share it between classes graded with "
        "the same course (default: DIR/nbgrader/reference)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786): each submission a task; "
        "the workers need this course installed, not a shared file system (default: --jobs here)",
    )
    parser.add_argument(
        "--lesson",
        action="append",
        default=[],
        dest="lessons",
        metavar="LESSON",
        help="grade only this lesson (repeatable; default: every lesson someone submitted)",
    )
    parser.add_argument(
        "--course-root", type=Path, default=REPO_ROOT, help="folder holding solutions/ (default: this repository)"
    )


def run(args):
    """Entry point of `python -m autograder grade`; returns the exit status."""
    # Imported here, not above: nbgrader and nbformat take seconds to import, and `python -m autograder build`
    # (which loads this module for its options) needs neither.
    from autograder.grading.pipeline import grade_class
    from autograder.grading.report import print_summary

    started = time.monotonic()
    grading_run = GradingRun(
        args.submissions,
        args.out,
        tuple(args.lessons),
        args.course_root,
        cell_timeout=args.timeout,
        wall_limit=args.wall_limit,
        jobs=args.jobs,
        limits=Limits(memory_mb=args.memory_mb, cpu_seconds=args.cpu_limit, disk_mb=args.disk_mb),
        unsafe=args.unsafe,
        reference_cache=args.reference_cache,
        scheduler=args.scheduler,
    )
    rows, problems = grade_class(grading_run)
    print_summary(grading_run, rows, problems, time.monotonic() - started)
    return 0
