"""Hostile and broken submissions, graded end to end in one batch with two workers.

Every student hands in the toy lesson (tests/fixtures/courses.py: `square`, 1 point, and `cube`,
2 points, whose test calls np.allclose). Each hostile case must get its exact status, score and
flag, and the honest students graded in the same batch must keep their full marks. The batch is
graded once (the `batch` fixture) and each student's row is checked by a test of its own, so one run
reports every case. A second run must regrade nothing, and a third only the notebook that changed.
"""

import contextlib
import copy
import fcntl
import json
import os
import shutil
import socket
import threading
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import pytest
from test_grading import grade, submit

from autograder.build import build_lessons
from autograder.grading import sandbox
from autograder.grading.intake import collect
from fixtures.courses import fill_in, make_toy_course

LESSON = "toy_a"
# Short limits so the hostile cases end quickly; two workers, as an instructor with two cores would run it.
BATCH_OPTIONS = ("--jobs", "2", "--timeout", "3", "--wall-limit", "60", "--cpu-limit", "8", "--memory-mb", "2048")
ISOLATED = sandbox.isolation()[0]


@dataclass
class Case:
    """What one student's row must say. Text fields must occur in the column; flags=None leaves flags unchecked."""

    status: str
    score: str
    detail: str = ""
    failures: str = ""
    failures_start: str = ""
    flags: list | None = None
    flags_include: set = field(default_factory=set)
    feedback_shows: str = ""  # text the student's feedback page must show
    unmapped: str = ""  # a line of unmapped.txt that explains the case


CASES = {
    "honest_1": Case("graded", "3", flags=[]),
    "honest_2": Case("graded", "3", flags=[]),
    "honest_3": Case("graded", "3", flags=[]),
    "infinite_loop": Case("graded", "2", detail="interrupted after the time limit: toy_a_square"),
    "memory_bomb": Case("graded", "2", failures="MemoryError"),
    "exits": Case("kernel died", "0", detail="exit code 3"),
    "segfault": Case("kernel died", "0", detail="killed by SIGSEGV"),
    # Stopped by the cell time limit; nbgrader's LimitOutput keeps the graded notebook and its feedback small.
    "print_flood": Case(
        "graded",
        "2",
        detail="interrupted after the time limit: toy_a_square",
        feedback_shows="... Output truncated ...",
    ),
    "cpu_hog": Case("timed out", "0", detail="could not be interrupted"),
    "monkeypatch": Case(
        "graded",
        "1",
        failures_start="toy_a_cube: AssertionError",
        flags_include={"toy_a_cube_answer patches numpy.allclose", "replaced numpy.allclose (restored)"},
    ),
    "imports_reference": Case("graded", "3", flags=["toy_a_square_answer uses reference_impl"]),
    # Without namespaces (see autograder/grading/sandbox.py) the grader warns and these reads succeed.
    "reads_outside": Case("graded", "2", failures="No such file or directory") if ISOLATED else Case("graded", "3"),
    "network": Case("graded", "2", failures="Network is unreachable") if ISOLATED else Case("graded", "3"),
    "sleep_in_test": Case("graded", "3", flags=["edited test cell toy_a_square (restored)"]),
    "deleted_test": Case("graded", "3", flags=["deleted test cell toy_a_cube (restored)"]),
    "reordered": Case("graded", "1", flags=["graded cells out of order"], failures="NameError"),
    "added_cells": Case("graded", "3", flags=[]),
    "invalid_json": Case("invalid notebook", "0", detail="NotJSONError"),
    "old_format": Case("graded", "3", flags=[]),
    "wrong_kernel": Case("graded", "3", flags=[]),
    "missing": Case("missing", "0", unmapped="missing/homework.ipynb: matches no lesson"),
}
HONEST = ["added_cells", "honest_1", "honest_2", "honest_3", "old_format", "wrong_kernel"]


def edit_cells(notebook, change):
    """A copy of `notebook` whose cell list is `change(cells)`."""
    edited = copy.deepcopy(notebook)
    edited.cells = change(edited.cells)
    return edited


def cell_index(notebook, grade_id):
    return next(
        index
        for index, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


@contextlib.contextmanager
def loopback_listener():
    """A TCP server on 127.0.0.1 that counts the connections it accepts; yields (port, accepted list)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed when the batch is graded
                return
            accepted.append(connection)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        server.close()


def full_marks(course):
    """The toy lesson's release with the solution's answers typed in."""
    lesson = nbformat.read(course / "lessons" / LESSON / f"{LESSON}.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    return lesson, solution, fill_in(lesson, solution)


def hand_in_hostile_class(course, submissions, port):
    lesson, solution, full = full_marks(course)

    def answer(student, exercise, code):
        """Hand in the solution with one exercise's answer replaced by `code` (indented as a function body)."""
        body = "return x * x" if exercise == "square" else "return x ** 3"
        submit(submissions, student, LESSON, fill_in(lesson, solution, {f"{LESSON}_{exercise}_answer": [(body, code)]}))

    for honest in ["honest_1", "honest_2", "honest_3"]:
        submit(submissions, honest, LESSON, full)
    answer("infinite_loop", "square", "while True:\n        pass")
    answer("memory_bomb", "square", "hoard = bytearray(8 << 30)\n    return x * x")
    answer("exits", "cube", "import os\n    os._exit(3)")
    answer("segfault", "cube", "import ctypes\n    return ctypes.string_at(0)")
    answer("print_flood", "square", "while True:\n        print('spam ' * 200)")
    # sum() over an endless iterator runs in C: no interrupt stops it; the grader gives up on the notebook.
    answer("cpu_hog", "square", "import itertools\n    return sum(itertools.repeat(1))")
    answer("monkeypatch", "cube", "return 0\nimport numpy as np\nnp.allclose = lambda *args, **kwargs: True")
    answer("imports_reference", "square", "import reference_impl\n    return x * x")
    # Correct only if the grader's private folders are readable: another student's notebook here.
    answer(
        "reads_outside",
        "square",
        f"open({str(submissions / 'honest_1' / f'{LESSON}.ipynb')!r}).read()\n    return x * x",
    )
    answer(
        "network",
        "square",
        f"import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    return x * x",
    )

    square_test = cell_index(full, f"{LESSON}_square")
    cube_test, cube_answer = cell_index(full, f"{LESSON}_cube"), cell_index(full, f"{LESSON}_cube_answer")
    sleepy = copy.deepcopy(full)
    sleepy.cells[square_test].source = "import time\ntime.sleep(600)\n" + sleepy.cells[square_test].source
    submit(submissions, "sleep_in_test", LESSON, sleepy)
    submit(
        submissions, "deleted_test", LESSON, edit_cells(full, lambda cells: cells[:cube_test] + cells[cube_test + 1 :])
    )
    submit(
        submissions,
        "reordered",
        LESSON,
        edit_cells(
            full, lambda cells: cells[:cube_answer] + [cells[cube_test], cells[cube_answer]] + cells[cube_test + 1 :]
        ),
    )
    submit(
        submissions,
        "added_cells",
        LESSON,
        edit_cells(
            full,
            lambda cells: (
                [nbformat.v4.new_markdown_cell("my notes"), nbformat.v4.new_code_cell("scratch = 1")]
                + cells
                + [nbformat.v4.new_code_cell("print(scratch)")]
            ),
        ),
    )
    submit(submissions, "invalid_json", LESSON, '{"cells": [{"cell_type": "code", "source": "def square(')
    old = nbformat.v4.downgrade(copy.deepcopy(full))  # nbformat 3, as a years-old Jupyter writes it
    (submissions / "old_format").mkdir()
    (submissions / "old_format" / f"{LESSON}.ipynb").write_text(nbformat.writes(old, version=3))
    wrong_kernel = copy.deepcopy(full)
    wrong_kernel.metadata.kernelspec = {"name": "ir", "display_name": "R", "language": "R"}
    submit(submissions, "wrong_kernel", LESSON, wrong_kernel)
    (submissions / "missing").mkdir()
    nbformat.write(full, submissions / "missing" / "homework.ipynb")  # named after no lesson


@dataclass
class Batch:
    """The first grading of the hostile class: its rows and what it left, as plain data."""

    rows: dict  # student -> row of grades.csv
    feedback: list  # the students who got a feedback page
    unmapped: str  # unmapped.txt
    loopback_connections: int  # connections a kernel made to the grader's loopback listener
    course: str
    submissions: str
    out: str


def grade_hostile_class(folder):
    course, submissions, out = folder / "course", folder / "submissions", folder / "out"
    make_toy_course(course, [LESSON])
    build_lessons([LESSON], course)
    with loopback_listener() as (port, accepted):
        hand_in_hostile_class(course, submissions, port)
        rows, _ = grade(submissions, out, *BATCH_OPTIONS, course_root=course)
    return Batch(
        rows={student: row for (student, _), row in rows.items()},
        feedback=sorted(path.parent.parent.name for path in (out / "feedback").rglob(f"{LESSON}.html")),
        unmapped=(out / "unmapped.txt").read_text(),
        loopback_connections=len(accepted),
        course=str(course),
        submissions=str(submissions),
        out=str(out),
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The hostile class, graded once per test run.

    Under pytest-xdist each worker would build this fixture for itself and grade the class again,
    side by side; instead the first worker grades it and the others wait for its result.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return grade_hostile_class(tmp_path_factory.mktemp("hostile"))
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, common to all workers
    with open(shared / "hostile-batch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = shared / "hostile-batch.json"
        if not result.exists():
            result.write_text(json.dumps(asdict(grade_hostile_class(shared / "hostile"))))
        return Batch(**json.loads(result.read_text()))


@pytest.mark.slow
def test_the_batch_as_a_whole(batch):
    assert sorted(batch.rows) == sorted(CASES)
    assert {row["max_score"] for row in batch.rows.values()} == {"3"}
    honest = [
        student
        for student, row in batch.rows.items()
        if (row["status"], row["score"]) == ("graded", "3") and not row["flags"]
    ]
    # Without namespaces, reading outside and the network work, unflagged: those two look honest then.
    assert sorted(honest) == sorted(HONEST + ([] if ISOLATED else ["network", "reads_outside"]))
    assert batch.feedback == sorted(student for student, case in CASES.items() if case.status == "graded")
    if ISOLATED:
        assert batch.loopback_connections == 0, "a kernel reached the grader's loopback"


@pytest.mark.slow
@pytest.mark.parametrize("student", CASES)
def test_student(batch, student):
    case, row = CASES[student], batch.rows[student]
    assert (row["status"], row["score"], row["max_score"]) == (case.status, case.score, "3")
    assert case.detail in row["detail"]
    assert case.failures in row["failures"]
    assert row["failures"].startswith(case.failures_start)
    flags = row["flags"].split("; ") if row["flags"] else []
    if case.flags is not None:
        assert flags == case.flags
    assert case.flags_include <= set(flags)
    assert (student in batch.feedback) == (case.status == "graded")
    if case.feedback_shows:
        page = Path(batch.out) / "feedback" / student / LESSON / f"{LESSON}.html"
        assert case.feedback_shows in page.read_text()
    assert case.unmapped in batch.unmapped


@pytest.mark.slow
def test_regrading_only_what_changed(batch, tmp_path):
    # A copy of the batch's folders, so that the rows and pages the other tests read stay as first graded.
    course, submissions, out = Path(batch.course), tmp_path / "submissions", tmp_path / "out"
    shutil.copytree(batch.submissions, submissions)
    shutil.copytree(batch.out, out)
    # Idempotent: nothing changed, nothing regraded, the same CSV.
    csv_before = (out / "grades.csv").read_text()
    grade(submissions, out, *BATCH_OPTIONS, course_root=course)
    assert (out / "grades.csv").read_text() == csv_before
    # One fixed notebook: only it is regraded, and the gradebook agrees with the CSV.
    submit(submissions, "exits", LESSON, full_marks(course)[2])
    rows, _ = grade(submissions, out, *BATCH_OPTIONS, course_root=course)
    assert (rows["exits", LESSON]["status"], rows["exits", LESSON]["score"]) == ("graded", "3")
    changed = [line for line in (out / "grades.csv").read_text().splitlines() if line not in csv_before.splitlines()]
    assert [line.split(",")[0] for line in changed] == ["exits"]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", "optimization_deep") as gradebook:
        assert {submission.student_id: submission.score for submission in gradebook.assignment_submissions(LESSON)} == {
            student: float(row["score"]) for (student, _), row in rows.items() if row["status"] == "graded"
        }


def test_lms_zip_mapping(tmp_path):
    """Moodle and Canvas bulk downloads map to students; what cannot be mapped is reported, not guessed."""
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("Ada Lovelace_1234_assignsubmission_file_/toy_a.ipynb", "{}")
        zip_file.writestr("bobbyb_55_66_toy_a-2.ipynb", "{}")
        zip_file.writestr("cy/toy_a.ipynb", "{}")
        zip_file.writestr("cy/toy_a (1).ipynb", "{}")  # the exact name wins over a copy
        zip_file.writestr("dee/toy_a (1).ipynb", "{}")
        zip_file.writestr("dee/toy_a (2).ipynb", "{}")  # two copies: neither is chosen
        zip_file.writestr("eve/notes.ipynb", "{}")
        zip_file.writestr("__MACOSX/._cy", "")
        zip_file.writestr("index.html", "")
    intake = collect(archive, ["toy_a", "toy_b"])
    assert sorted(intake.notebooks) == [("Ada_Lovelace_1234", "toy_a"), ("bobbyb", "toy_a"), ("cy", "toy_a")]
    assert intake.origins["cy", "toy_a"] == "cy/toy_a.ipynb"
    assert sorted(intake.students) == ["Ada_Lovelace_1234", "bobbyb", "cy", "dee", "eve"]
    assert intake.problems == [
        "eve/notes.ipynb: matches no lesson (lessons: toy_a, toy_b)",
        "dee: 2 notebooks for toy_a (dee/toy_a (1).ipynb, dee/toy_a (2).ipynb): none graded, keep one",
    ]
