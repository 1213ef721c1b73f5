"""Hostile and broken submissions, graded end to end in one batch with two workers.

Every student hands in the toy lesson (tests/fixtures/courses.py: `square`, 1 point, and `cube`,
2 points, whose test calls np.allclose). Each hostile case must get its exact status, score and
flag, and the honest students graded in the same batch must keep their full marks. A second run
must regrade nothing, and a third only the notebook that changed.
"""
import copy
import socket
import threading
import zipfile

import nbformat
import pytest

from autograder import sandbox
from autograder.build import build_lessons
from autograder.submissions import collect
from fixtures.courses import fill_in, make_toy_course
from test_grading import grade, submit

LESSON = "toy_a"
# Short limits so the hostile cases end quickly; two workers, as an instructor with two cores would run it.
BATCH_OPTIONS = ("--jobs", "2", "--timeout", "3", "--wall-limit", "60", "--cpu-limit", "8", "--memory-mb", "2048")
ISOLATED = sandbox.isolation()[0]


def edit_cells(notebook, change):
    """A copy of `notebook` whose cell list is `change(cells)`."""
    edited = copy.deepcopy(notebook)
    edited.cells = change(edited.cells)
    return edited


def cell_index(notebook, grade_id):
    return next(index for index, cell in enumerate(notebook.cells)
                if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture
def loopback_listener():
    """A TCP server on 127.0.0.1 that counts the connections it accepts; yields (port, accepted list)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed at the end of the test
                return
            accepted.append(connection)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


@pytest.mark.slow
def test_hostile_batch(tmp_path, loopback_listener):
    port, accepted = loopback_listener
    course, submissions, out = tmp_path / "course", tmp_path / "submissions", tmp_path / "out"
    make_toy_course(course, [LESSON])
    build_lessons([LESSON], course)
    lesson = nbformat.read(course / "lessons" / LESSON / f"{LESSON}.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    full = fill_in(lesson, solution)

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
    answer("reads_outside", "square",
           f"open({str(submissions / 'honest_1' / f'{LESSON}.ipynb')!r}).read()\n    return x * x")
    answer("network", "square",
           f"import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    return x * x")

    square_test = cell_index(full, f"{LESSON}_square")
    cube_test, cube_answer = cell_index(full, f"{LESSON}_cube"), cell_index(full, f"{LESSON}_cube_answer")
    sleepy = copy.deepcopy(full)
    sleepy.cells[square_test].source = "import time\ntime.sleep(600)\n" + sleepy.cells[square_test].source
    submit(submissions, "sleep_in_test", LESSON, sleepy)
    submit(submissions, "deleted_test", LESSON, edit_cells(full, lambda cells: cells[:cube_test] + cells[cube_test + 1:]))
    submit(submissions, "reordered", LESSON, edit_cells(
        full, lambda cells: cells[:cube_answer] + [cells[cube_test], cells[cube_answer]] + cells[cube_test + 1:]))
    submit(submissions, "added_cells", LESSON, edit_cells(
        full, lambda cells: [nbformat.v4.new_markdown_cell("my notes"), nbformat.v4.new_code_cell("scratch = 1")]
        + cells + [nbformat.v4.new_code_cell("print(scratch)")]))
    submit(submissions, "invalid_json", LESSON, '{"cells": [{"cell_type": "code", "source": "def square(')
    old = nbformat.v4.downgrade(copy.deepcopy(full))  # nbformat 3, as a years-old Jupyter writes it
    (submissions / "old_format").mkdir()
    (submissions / "old_format" / f"{LESSON}.ipynb").write_text(nbformat.writes(old, version=3))
    wrong_kernel = copy.deepcopy(full)
    wrong_kernel.metadata.kernelspec = {"name": "ir", "display_name": "R", "language": "R"}
    submit(submissions, "wrong_kernel", LESSON, wrong_kernel)
    (submissions / "missing").mkdir()
    nbformat.write(full, submissions / "missing" / "homework.ipynb")  # named after no lesson

    rows, _ = grade(submissions, out, *BATCH_OPTIONS, course_root=course)
    rows = {student: row for (student, _), row in rows.items()}

    expected = {
        "honest_1": ("graded", "3"), "honest_2": ("graded", "3"), "honest_3": ("graded", "3"),
        "infinite_loop": ("graded", "2"),
        "memory_bomb": ("graded", "2"),
        "exits": ("kernel died", "0"),
        "segfault": ("kernel died", "0"),
        "print_flood": ("graded", "2"),
        "cpu_hog": ("timed out", "0"),
        "monkeypatch": ("graded", "1"),
        "imports_reference": ("graded", "3"),
        # Without namespaces (see autograder/sandbox.py) the grader warns and these reads succeed.
        "reads_outside": ("graded", "2" if ISOLATED else "3"),
        "network": ("graded", "2" if ISOLATED else "3"),
        "sleep_in_test": ("graded", "3"),
        "deleted_test": ("graded", "3"),
        "reordered": ("graded", "1"),
        "added_cells": ("graded", "3"),
        "invalid_json": ("invalid notebook", "0"),
        "old_format": ("graded", "3"),
        "wrong_kernel": ("graded", "3"),
        "missing": ("missing", "0"),
    }
    assert {student: (row["status"], row["score"]) for student, row in rows.items()} == expected
    assert {row["max_score"] for row in rows.values()} == {"3"}
    honest = [student for student, (status, score) in expected.items() if (status, score) == ("graded", "3")
              and not rows[student]["flags"]]
    assert sorted(honest) == ["added_cells", "honest_1", "honest_2", "honest_3", "old_format", "wrong_kernel"]

    def flags(student):
        return rows[student]["flags"].split("; ")

    assert "interrupted after the time limit: toy_a_square" in rows["infinite_loop"]["detail"]
    assert "MemoryError" in rows["memory_bomb"]["failures"]
    assert "exit code 3" in rows["exits"]["detail"]
    assert "killed by SIGSEGV" in rows["segfault"]["detail"]
    # Stopped by the cell time limit; nbgrader's LimitOutput keeps the graded notebook and its feedback small.
    assert "interrupted after the time limit: toy_a_square" in rows["print_flood"]["detail"]
    assert "... Output truncated ..." in (out / "feedback" / "print_flood" / LESSON / f"{LESSON}.html").read_text()
    assert "could not be interrupted" in rows["cpu_hog"]["detail"]
    assert {"toy_a_cube_answer patches numpy.allclose", "replaced numpy.allclose (restored)"} <= set(flags("monkeypatch"))
    assert rows["monkeypatch"]["failures"].startswith("toy_a_cube: AssertionError")
    assert flags("imports_reference") == ["toy_a_square_answer uses reference_impl"]
    assert flags("sleep_in_test") == ["edited test cell toy_a_square (restored)"]
    assert flags("deleted_test") == ["deleted test cell toy_a_cube (restored)"]
    assert flags("reordered") == ["graded cells out of order"]
    assert "NameError" in rows["reordered"]["failures"]
    assert "NotJSONError" in rows["invalid_json"]["detail"]
    if ISOLATED:
        assert "No such file or directory" in rows["reads_outside"]["failures"]
        assert "Network is unreachable" in rows["network"]["failures"]
        assert accepted == [], "a kernel reached the grader's loopback"
    assert "missing/homework.ipynb: matches no lesson" in (out / "unmapped.txt").read_text()

    feedback = {path.parent.parent.name for path in (out / "feedback").rglob(f"{LESSON}.html")}
    assert feedback == {student for student, (status, _) in expected.items() if status == "graded"}

    # Idempotent: nothing changed, nothing regraded, the same CSV.
    csv_before = (out / "grades.csv").read_text()
    grade(submissions, out, *BATCH_OPTIONS, course_root=course)
    assert (out / "grades.csv").read_text() == csv_before
    # One fixed notebook: only it is regraded, and the gradebook agrees with the CSV.
    submit(submissions, "exits", LESSON, full)
    rows, _ = grade(submissions, out, *BATCH_OPTIONS, course_root=course)
    assert (rows["exits", LESSON]["status"], rows["exits", LESSON]["score"]) == ("graded", "3")
    changed = [line for line in (out / "grades.csv").read_text().splitlines() if line not in csv_before.splitlines()]
    assert [line.split(",")[0] for line in changed] == ["exits"]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", "optimization_deep") as gradebook:
        assert {submission.student_id: submission.score for submission in gradebook.assignment_submissions(LESSON)} \
            == {student: float(row["score"]) for (student, _), row in rows.items() if row["status"] == "graded"}


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
