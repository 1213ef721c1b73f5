"""End to end: a class's submissions go through `python -m autograder grade`; scores, statuses and
feedback pages come out.

- A toy course built here checks the batch logic on its own: both submission layouts, a lesson not
  handed in, a file that is JSON but no notebook, a kernel that dies, and an endless loop in compiled
  code that no interrupt stops, so that only the wall-clock limit ends it. The hostile corpus is in
  tests/test_grading_hostile.py.
- Lesson 01 checks the scores of the real thing: full marks, the blank release, plausible mistakes,
  an endless loop inside one exercise, and a file that is not JSON.
- The status rules (autograder/grading/status.py) are checked on their own, on records made here,
  in milliseconds.
- Warnings are shown, never scored (autograder/grading/stderr_output.py): a correct toy answer that warns
  keeps its points and shows its warning in the feedback page, one that raises scores 0; Validate agrees.
"""

import copy
import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import determine_grade
from nbgrader.validator import Validator

from autograder.build import REPO_ROOT, build_lessons, load_nbgrader_config
from autograder.grading.execute_step import NOT_RERUN, ExecuteFailure, GradingExecute, autograde_options
from autograder.grading.nbgrader_run import AutogradeOutcome
from autograder.grading.records import GradingRun, Submission
from autograder.grading.sandbox import KernelExit, Limits, isolation
from autograder.grading.status import autograde_status
from autograder.grading.stderr_output import UnscoredStderr
from fixtures.courses import fill_in, make_toy_course, toy_solution

SANDBOXED, WHY_NOT_SANDBOXED = isolation()
# The reference runs' evidence (autograder/grading/judge.py), shared by this test run's gradings, in every pytest-xdist
# worker: keyed by the lesson's source, the grader's code and the limits, so a class reuses only a reference run it
# would make alike.
TEST_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))  # one id for all of a run's workers
REFERENCE_CACHE = Path(tempfile.gettempdir()) / f"optdeep-reference-{TEST_RUN}"
REFERENCE_CACHE.mkdir(exist_ok=True)


def sandbox_options():
    """No options where the grading sandbox works; --unsafe-no-sandbox where bubblewrap is missing (the tests'
    own classes are trusted), unless OPTDEEP_REQUIRE_SANDBOX=1 (CI sets it), which makes that a failure."""
    if SANDBOXED:
        return ()
    if os.environ.get("OPTDEEP_REQUIRE_SANDBOX") == "1":
        pytest.fail(f"the grading sandbox is required here, and {WHY_NOT_SANDBOXED}")
    return ("--unsafe-no-sandbox",)


def require_sandbox():
    """Skip a test of the sandbox where there is none (a failure where it is required): hostile notebooks are
    never graded without it."""
    if sandbox_options():
        pytest.skip(f"no grading sandbox: {WHY_NOT_SANDBOXED}")


def grade(submissions, out, *options, course_root=REPO_ROOT, environment=None):
    """Run the grading command; return {(student, lesson): CSV row} and the CSV's header.

    The class is graded in the sandbox; where there is none (and none is required), with --unsafe-no-sandbox,
    since these classes are the tests' own. `environment` replaces the command's environment.
    """
    options = (*options, "--reference-cache", str(REFERENCE_CACHE), *sandbox_options())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(submissions),
            "--out",
            str(out),
            "--course-root",
            str(course_root),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)  # the summary, shown when a test fails
    with open(out / "grades.csv", newline="") as csv_file:
        reader = csv.DictReader(csv_file)
        rows = {(row["student"], row["lesson"]): row for row in reader}
    return rows, reader.fieldnames


def submit(submissions, student, lesson, notebook, nested=False):
    """Hand in `notebook` (a notebook, or raw text) as <student>/<lesson>.ipynb or <student>/<lesson>/<lesson>.ipynb."""
    folder = submissions / student / (lesson if nested else "")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lesson}.ipynb"
    if isinstance(notebook, str):
        path.write_text(notebook)
    else:
        nbformat.write(notebook, path)


def scores(row, cells):
    return {cell: row[cell] for cell in cells}


def kernels_left_in(folder):
    """Processes (kernels) still running with a working directory inside `folder`."""
    left = []
    for process in psutil.process_iter(["cwd", "cmdline"]):
        if process.info["cwd"] and str(folder) in process.info["cwd"]:
            left.append(process.info["cmdline"])
    return left


@pytest.mark.slow
def test_toy_class_every_status(tmp_path):
    course, submissions, out = tmp_path / "course", tmp_path / "submissions", tmp_path / "out"
    make_toy_course(course, ["toy_a", "toy_b"])
    build_lessons(["toy_a", "toy_b"], course)
    lesson, solution = {}, {}
    for name in ["toy_a", "toy_b"]:
        lesson[name] = nbformat.read(course / "lessons" / name / f"{name}.ipynb", as_version=4)
        solution[name] = nbformat.read(course / "solutions" / name / f"{name}.ipynb", as_version=4)

    submit(submissions, "ada", "toy_a", fill_in(lesson["toy_a"], solution["toy_a"]), nested=True)
    submit(submissions, "ada", "toy_b", fill_in(lesson["toy_b"], solution["toy_b"]))
    submit(submissions, "bob", "toy_a", lesson["toy_a"])  # the release, untouched; no toy_b at all
    dies = {"toy_a_cube_answer": [("return x ** 3", "import os\n    os._exit(1)")]}
    submit(submissions, "cy", "toy_a", fill_in(lesson["toy_a"], solution["toy_a"], dies))
    submit(submissions, "cy", "toy_b", '{"answer": 42}')
    # sum() over an endless iterator runs in C and never checks for the kernel interrupt.
    endless = {"toy_a_square_answer": [("return x * x", "import itertools\n    return sum(itertools.repeat(1))")]}
    submit(submissions, "dee", "toy_a", fill_in(lesson["toy_a"], solution["toy_a"], endless), nested=True)

    rows, columns = grade(submissions, out, "--wall-limit", "20", course_root=course)

    assert columns == [
        "student",
        "submitted_as",
        "lesson",
        "status",
        "score",
        "max_score",
        "auto_score",
        "auto_max_score",
        "manual_score",
        "manual_max_score",
        "manual_pending",
        "toy_a_square",
        "toy_a_cube",
        "toy_b_square",
        "toy_b_cube",
        "failures",
        "flags",
        "detail",
    ]
    assert sorted(rows) == [
        (student, lesson) for student in ["ada", "bob", "cy", "dee"] for lesson in ["toy_a", "toy_b"]
    ]
    status_and_score = {key: (row["status"], row["score"], row["max_score"]) for key, row in rows.items()}
    assert status_and_score == {
        ("ada", "toy_a"): ("graded", "3", "3"),
        ("ada", "toy_b"): ("graded", "3", "3"),
        ("bob", "toy_a"): ("graded", "0", "3"),
        ("bob", "toy_b"): ("missing", "0", "3"),
        ("cy", "toy_a"): ("kernel died", "0", "3"),
        ("cy", "toy_b"): ("invalid notebook", "0", "3"),
        ("dee", "toy_a"): ("timed out", "0", "3"),
        ("dee", "toy_b"): ("missing", "0", "3"),
    }
    assert scores(rows["ada", "toy_b"], ["toy_a_square", "toy_b_square", "toy_b_cube"]) == {
        "toy_a_square": "",
        "toy_b_square": "1",
        "toy_b_cube": "2",
    }
    assert "the kernel died (exit code 1)" in rows["cy", "toy_a"]["detail"]
    assert "wall-clock limit of 20 s" in rows["dee", "toy_a"]["detail"]
    assert kernels_left_in(tmp_path) == [], "the endless kernel was not stopped"

    feedback = sorted(path.relative_to(out / "feedback").as_posix() for path in (out / "feedback").rglob("*.html"))
    assert feedback == ["ada/toy_a/toy_a.html", "ada/toy_b/toy_b.html", "bob/toy_a/toy_a.html"]
    assert "toy_b_cube" in (out / "feedback" / "ada" / "toy_b" / "toy_b.html").read_text()


EXPERIMENT = 'print("run " + "by the grader")'


@pytest.mark.slow
def test_experiments_are_not_rerun_and_show_what_was_handed_in(tmp_path):
    """A cell the source tags `experiment` is not run when graded (execute_step.GradingExecute): it shows the output
    handed in with it, under a line saying so. An edited one runs like any cell; the tests still score."""
    course, submissions, out = tmp_path / "course", tmp_path / "submissions", tmp_path / "out"
    make_toy_course(course, ["toy_a"])
    solution_path = course / "solutions" / "toy_a" / "toy_a.ipynb"
    solution = nbformat.read(solution_path, as_version=4)
    solution.cells.append(new_code_cell(EXPERIMENT, metadata={"tags": ["experiment"]}))
    nbformat.write(solution, solution_path)
    build_lessons(["toy_a"], course)
    release = nbformat.read(course / "lessons" / "toy_a" / "toy_a.ipynb", as_version=4)
    handed_in = fill_in(release, solution)
    handed_in.cells[-1].outputs = [new_output("stream", name="stdout", text="what the student saw\n")]
    submit(submissions, "ada", "toy_a", handed_in)
    edited = copy.deepcopy(handed_in)
    edited.cells[-1].source = EXPERIMENT + "  # a student's change"
    submit(submissions, "bob", "toy_a", edited)

    rows, _ = grade(submissions, out, course_root=course)

    assert [(rows[student, "toy_a"]["status"], rows[student, "toy_a"]["score"]) for student in ("ada", "bob")] == [
        ("graded", "3"),
        ("graded", "3"),
    ]
    graded = {
        student: nbformat.read(out / "nbgrader" / "autograded" / student / "toy_a" / "toy_a.ipynb", as_version=4)
        for student in ("ada", "bob")
    }
    ada_outputs = [output.text for output in graded["ada"].cells[-1].outputs]
    assert ada_outputs == [NOT_RERUN, "what the student saw\n"]
    assert [output.text for output in graded["bob"].cells[-1].outputs] == ["run by the grader\n"]
    assert "what the student saw" in (out / "feedback" / "ada" / "toy_a" / "toy_a.html").read_text()


# A correct answer that warns twice: through the warnings module, and by writing to sys.stderr. The text written
# is assembled, so that the feedback page shows it only if it shows the cell's output, not merely its source.
WARNS = {
    "toy_a_square_answer": [
        (
            "return x * x",
            "import sys, warnings\n"
            '    warnings.warn("square is warning you")\n'
            '    sys.stderr.write("written to " + "stderr" + "\\n")\n'
            "    return x * x",
        )
    ]
}
RAISES = {"toy_a_cube_answer": [("return x ** 3", 'raise ValueError("cube gave up")')]}
# How the feedback page shows a graded cell's stderr: marked up as nbconvert marks up stderr.
STDERR_BOX = re.compile(r'<div class="output_stderr"><pre>(.*?)</pre></div>', re.DOTALL)


@pytest.mark.slow
def test_warnings_are_shown_never_scored(tmp_path):
    course, submissions, out = tmp_path / "course", tmp_path / "submissions", tmp_path / "out"
    make_toy_course(course, ["toy_a"])
    build_lessons(["toy_a"], course)
    lesson = nbformat.read(course / "lessons" / "toy_a" / "toy_a.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / "toy_a" / "toy_a.ipynb", as_version=4)
    submit(submissions, "warns", "toy_a", fill_in(lesson, solution, WARNS))
    submit(submissions, "warns_and_raises", "toy_a", fill_in(lesson, solution, {**WARNS, **RAISES}))

    rows, _ = grade(submissions, out, course_root=course)

    warns, raises = rows["warns", "toy_a"], rows["warns_and_raises", "toy_a"]
    assert (warns["status"], warns["score"], warns["failures"], warns["flags"]) == ("graded", "3", "", "")
    assert (raises["status"], scores(raises, ["toy_a_square", "toy_a_cube"])) == (
        "graded",
        {"toy_a_square": "1", "toy_a_cube": "0"},
    )
    assert raises["failures"] == "toy_a_cube: ValueError: cube gave up"
    shown = STDERR_BOX.findall((out / "feedback" / "warns" / "toy_a" / "toy_a.html").read_text())
    assert len(shown) == 1, "the square test cell's stderr, shown once"
    assert "UserWarning: square is warning you" in shown[0]
    assert "written to stderr" in shown[0]


def test_unscored_stderr_keeps_the_text_and_the_points():
    stderr = new_output("stream", name="stderr", text="UserWarning: <careful>\n")
    stdout, error = (
        new_output("stream", name="stdout", text="✓\n"),
        new_output("error", ename="E", evalue="", traceback=[]),
    )
    notebook = toy_solution("toy_a")
    graded, answer = notebook.cells[2], notebook.cells[1]  # the square test cell and its answer cell
    graded.outputs, answer.outputs = [stdout, stderr], [copy.deepcopy(stderr)]
    assert determine_grade(graded) == (0, 1)

    UnscoredStderr().preprocess(notebook, {})

    assert determine_grade(graded) == (1, 1)
    assert graded.outputs[0] == stdout
    assert graded.outputs[1].output_type == "display_data"
    assert graded.outputs[1].data["text/plain"] == "UserWarning: <careful>\n"
    assert STDERR_BOX.findall(graded.outputs[1].data["text/html"]) == ["UserWarning: &lt;careful&gt;\n"]
    assert answer.outputs == [stderr], "a cell that is not graded keeps its stderr as it is"
    graded.outputs.append(error)
    assert determine_grade(graded) == (0, 1), "an error still fails the cell"


@pytest.mark.slow
@pytest.mark.parametrize(("edit", "passes"), [("", True), ('raise ValueError("square gave up")\n', False)])
def test_validate_agrees_with_grading(tmp_path, edit, passes):
    """nbgrader's Validate, with the course's settings, passes a test cell that warns and fails one that raises."""
    notebook = toy_solution("toy_a")
    notebook.cells[2].source = f"{edit}import warnings\nwarnings.warn('a warning')\n{notebook.cells[2].source}"
    nbformat.write(notebook, tmp_path / "toy_a.ipynb")
    result = Validator(config=load_nbgrader_config()).validate(str(tmp_path / "toy_a.ipynb"))
    assert ("failed" not in result) == passes, result


POINTS = {"gd_step": 1, "ema_momentum": 2, "heavy_ball": 2, "nesterov": 2, "optimizer": 3, "terminal_speedup": 1}
CELLS = [f"01_momentum_{exercise}" for exercise in POINTS]
MAX_SCORE = sum(POINTS.values())
# Plausible mistakes, written as edits of the solution's answers: answer cell -> [(text, mistaken text)].
MISTAKES = {
    "gd_step": {"01_momentum_gd_step_answer": [("param - lr * grad", "param + lr * grad")]},
    "ema_momentum": {"01_momentum_ema_momentum_answer": [("(1 - beta) * grad", "grad")]},
    "heavy_ball": {"01_momentum_heavy_ball_answer": [("buf = grad if", "buf = (1 - dampening) * grad if")]},
    "nesterov": {"01_momentum_nesterov_answer": [("param - lr * (grad + momentum * buf)", "param - lr * buf")]},
    "optimizer": {"01_momentum_optimizer_answer": [('p.grad + group["weight_decay"] * p', "p.grad")]},
    "terminal_speedup": {"01_momentum_terminal_speedup_answer": [("1 / (1 - momentum)", "1 + momentum")]},
}
# MomentumSGD calls the student's gd_step, heavy_ball_step and nesterov_step: their mistakes cost the
# optimizer's points too. Two students share the six mistakes, so the lesson runs twice rather than six
# times; within each, every exercise's own cell shows whether its mistake was caught.
USED_BY_OPTIMIZER = {"gd_step", "heavy_ball", "nesterov"}
BUGGY_STUDENTS = {
    "step_mistakes": ["gd_step", "heavy_ball", "nesterov"],
    "other_mistakes": ["ema_momentum", "optimizer", "terminal_speedup"],
}


def exercises_failed(mistakes):
    return set(mistakes) | ({"optimizer"} if USED_BY_OPTIMIZER & set(mistakes) else set())


def without_ungraded_code(notebook):
    """Drop the code cells that carry no nbgrader role (explorations, the training experiment).

    A student may delete them and nbgrader grades what is left; here it keeps each run of the lesson
    to seconds, since the experiment alone takes about half a minute.
    """
    kept = copy.deepcopy(notebook)
    kept.cells = [cell for cell in notebook.cells if cell.cell_type != "code" or "nbgrader" in cell.metadata]
    return kept


@pytest.mark.slow
def test_lesson_01_scores(tmp_path):
    lesson = nbformat.read(REPO_ROOT / "lessons" / "01_momentum" / "01_momentum.ipynb", as_version=4)
    solution = nbformat.read(REPO_ROOT / "solutions" / "01_momentum" / "01_momentum.ipynb", as_version=4)
    assert [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in solution.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"]["solution"]
    ] == CELLS, "lesson 01 changed: update POINTS, MISTAKES"
    # A written answer typed in waits for its manual score: the tests' points (auto_score) are checked here.
    written = any(
        cell.metadata.get("nbgrader", {}).get("grade") and cell.metadata["nbgrader"]["solution"]
        for cell in solution.cells
    )
    answered = "needs manual grading" if written else "graded"
    submissions, out = tmp_path / "submissions", tmp_path / "out"

    def hand_in(student, edits=None):
        submit(submissions, student, "01_momentum", without_ungraded_code(fill_in(lesson, solution, edits)))

    hand_in("full_marks")
    submit(submissions, "blank", "01_momentum", without_ungraded_code(lesson))
    for student, mistakes in BUGGY_STUDENTS.items():
        hand_in(student, {cell: edits for mistake in mistakes for cell, edits in MISTAKES[mistake].items()})
    # `while` typed for a statement meant to run once: ema_momentum_step never returns.
    hand_in(
        "endless_loop",
        {
            "01_momentum_ema_momentum_answer": [
                ("    velocity = beta * velocity", "    while beta < 1:\n        velocity = beta * velocity")
            ]
        },
    )
    submit(submissions, "broken_json", "01_momentum", '{"cells": [{"cell_type": "code", "source": "def gd_step(')

    rows, _ = grade(submissions, out, "--timeout", "10")
    rows = {student: row for (student, _), row in rows.items()}

    assert sorted(rows) == sorted(["full_marks", "blank", *BUGGY_STUDENTS, "endless_loop", "broken_json"])
    assert {row["auto_max_score"] for row in rows.values()} == {str(MAX_SCORE)}
    assert (rows["full_marks"]["status"], rows["full_marks"]["auto_score"]) == (answered, str(MAX_SCORE))
    assert scores(rows["full_marks"], CELLS) == {
        f"01_momentum_{exercise}": str(points) for exercise, points in POINTS.items()
    }
    assert (rows["blank"]["status"], rows["blank"]["score"]) == ("graded", "0")  # unanswered written answers score 0

    for student, mistakes in BUGGY_STUDENTS.items():
        failed = exercises_failed(mistakes)
        expected = {
            f"01_momentum_{exercise}": str(0 if exercise in failed else points) for exercise, points in POINTS.items()
        }
        assert (rows[student]["status"], scores(rows[student], CELLS)) == (answered, expected), student
        assert rows[student]["auto_score"] == str(MAX_SCORE - sum(POINTS[exercise] for exercise in failed))

    # The looping exercise is interrupted after --timeout and scores 0; the exercises after it still count.
    assert (rows["endless_loop"]["status"], rows["endless_loop"]["auto_score"]) == (
        answered,
        str(MAX_SCORE - POINTS["ema_momentum"]),
    )
    assert rows["endless_loop"]["01_momentum_ema_momentum"] == "0"
    assert "interrupted after the time limit: 01_momentum_ema_momentum" in rows["endless_loop"]["detail"]

    assert (rows["broken_json"]["status"], rows["broken_json"]["score"]) == ("invalid notebook", "0")
    assert "NotJSONError" in rows["broken_json"]["detail"]
    graded = sorted(student for student, row in rows.items() if row["status"] in ("graded", "needs manual grading"))
    assert sorted(path.parent.parent.name for path in (out / "feedback").rglob("01_momentum.html")) == graded


LOG = "nbgrader/runs/ada/toy_a/autograde.log"


def while_handling(error, earlier):
    """`error` as raised in an except block of `earlier`."""
    error.__context__ = earlier
    return error


@pytest.mark.parametrize(
    ("exit_status", "kernel_exit", "failure", "log_text", "expected"),
    [
        (None, None, None, "", ("timed out", "grading ran past the wall-clock limit of 20 s and was stopped")),
        (
            1,
            KernelExit(-signal.SIGXCPU),
            DeadKernelError("Kernel died"),
            "",
            ("timed out", "killed by SIGXCPU: it used its 8 s of CPU time"),
        ),
        (
            1,
            None,
            CellTimeoutError("Timeout waiting for IOPub output"),
            "",
            ("timed out", "a cell ran past its time limit and could not be interrupted"),
        ),
        (
            1,
            None,
            while_handling(DeadKernelError("Kernel died"), CellTimeoutError("Timeout")),
            "",
            ("timed out", "a cell ran past its time limit and could not be interrupted"),
        ),
        (
            1,
            KernelExit(3),
            DeadKernelError("Kernel died"),
            "",
            ("kernel died", f"the kernel died (exit code 3); log: {LOG}"),
        ),
        (
            1,
            KernelExit(-signal.SIGSEGV),
            DeadKernelError("Kernel died"),
            "",
            ("kernel died", f"the kernel died (killed by SIGSEGV); log: {LOG}"),
        ),
        (1, None, DeadKernelError("Kernel died"), "", ("kernel died", f"the kernel died (no exit status); log: {LOG}")),
        (
            1,
            KernelExit(0),
            None,
            "Traceback (most recent call last):\n  ...\nValueError: bad cell metadata\n"
            "[AutogradeApp | ERROR] There was an error processing assignment",
            ("error", f"ValueError: bad cell metadata (log: {LOG})"),
        ),
        (1, None, None, "", ("error", f"nbgrader autograde failed (log: {LOG})")),
    ],
)
def test_status_rules(tmp_path, exit_status, kernel_exit, failure, log_text, expected):
    run = GradingRun(tmp_path / "submissions", tmp_path / "out", wall_limit=20, limits=Limits(cpu_seconds=8))
    log = run.out / LOG
    log.parent.mkdir(parents=True)
    log.write_text(log_text)
    outcome = AutogradeOutcome(exit_status, kernel_exit, failure and ExecuteFailure.of(failure), [], log)
    assert autograde_status(run, Submission("ada", "toy_a", b"{}", (), 3.0, "key"), outcome) == expected


def test_graded_status_names_the_interrupted_cells(tmp_path):
    run = GradingRun(tmp_path / "submissions", tmp_path / "out")
    submission = Submission("ada", "toy_a", b"{}", (), 3.0, "key")
    timeout = new_output("error", ename="CellTimeoutError", evalue="", traceback=[])
    cells = [
        new_code_cell("while True: pass", outputs=[timeout], metadata={"nbgrader": {"grade_id": "toy_a_square"}}),
        new_code_cell("1 / 0", outputs=[new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])]),
        new_code_cell("while True: pass", outputs=[timeout]),
    ]
    run.autograded_notebook(submission).parent.mkdir(parents=True)
    nbformat.write(new_notebook(cells=cells), run.autograded_notebook(submission))
    outcome = AutogradeOutcome(0, KernelExit(0), None, [], run.out / LOG)
    assert autograde_status(run, submission, outcome) == (
        "graded",
        "interrupted after the time limit: toy_a_square, cell 2",
    )


def test_records_survive_their_files(tmp_path):
    failure = ExecuteFailure.of(DeadKernelError("Kernel died"))
    failure.write(tmp_path / "failure.json")
    assert ExecuteFailure.read(tmp_path / "failure.json") == failure
    assert failure.is_a(DeadKernelError) and failure.is_a(RuntimeError) and not failure.is_a(CellTimeoutError)
    assert ExecuteFailure.read(tmp_path / "none.json") is None
    assert KernelExit.read(tmp_path / "none.json") is None
    assert (KernelExit(-signal.SIGKILL).signal, KernelExit(1).signal) == (signal.SIGKILL, None)


def test_grading_execute_records_and_reraises(tmp_path, monkeypatch):
    from nbgrader.preprocessors import Execute

    def kernel_dies(self, *args, **kwargs):
        raise DeadKernelError("Kernel died")

    monkeypatch.setattr(Execute, "preprocess", kernel_dies)
    nbformat.write(new_notebook(), tmp_path / "lesson.ipynb")
    step = GradingExecute(
        failure_file=str(tmp_path / "failure.json"),
        source_notebook=str(tmp_path / "lesson.ipynb"),
        handed_in_notebook=str(tmp_path / "lesson.ipynb"),
    )
    with pytest.raises(DeadKernelError):
        step.preprocess(new_notebook(), {})
    assert ExecuteFailure.read(tmp_path / "failure.json").is_a(DeadKernelError)
    options = autograde_options(tmp_path / "failure.json", "source.ipynb", "handed_in.ipynb")
    assert options[0] == "--Autograde.autograde_preprocessors=autograder.grading.execute_step.GradingExecute"
    assert "--Autograde.autograde_preprocessors=nbgrader.preprocessors.limitoutput.LimitOutput" in options
    assert options[-1] == f"--GradingExecute.failure_file={tmp_path / 'failure.json'}"


def test_stderr_is_made_unscored_once_limited_before_the_scores_are_saved(tmp_path):
    options = autograde_options(tmp_path / "failure.json", "source.ipynb", "handed_in.ipynb")
    steps = [option.partition("=")[2] for option in options if option.startswith("--Autograde.")]
    limit = steps.index("nbgrader.preprocessors.limitoutput.LimitOutput")
    assert steps[limit + 1] == "autograder.grading.stderr_output.UnscoredStderr"
    assert steps.index("nbgrader.preprocessors.saveautogrades.SaveAutoGrades") > limit + 1
