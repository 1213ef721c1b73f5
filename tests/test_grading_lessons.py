"""Every lesson, graded end to end: what a perfect student hands in scores full marks, and nothing is flagged.

Two students hand in every lesson of course.lessons.LESSONS, graded in one batch with two workers, as an
instructor with two cores would run `python -m autograder grade`:
- `perfect`: the release with the solution's answers typed in (tests/fixtures/courses.py: fill_in), and after
  each answer a cell of the student's own that draws random numbers. It must get every test's points, with no
  failed test, no flag and nothing interrupted: its test cells draw and compute what they do in the lesson's
  reference run, whose evidence the grader holds them to (autograder/grading/judge.py), and every graded test
  cell's checks leave evidence there. A lesson without written answers is
  then `graded` in full; one with written answers or tasks (graded by hand, read from the solution's nbgrader
  metadata) `needs manual grading`, with exactly those cells pending;
- `blank`: the release as it is. Every graded test cell must fail, with NotImplementedError, and no other cell:
  the explanations fall back to the reference, and the views and experiments are not rerun (cells tagged
  `experiment`, which the test below checks: autograder/grading/execute_step.py). And it must get no flag: an
  integrity flag on a notebook nobody touched would be on every notebook, and hide the real ones.

The releases are generated here from solutions/, as the grader generates the ones it grades against; they are
the committed lessons/ whenever tests/test_build.py passes, and stay consistent with the solutions while a
lesson is being edited.
"""

import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from test_grading import REFERENCE_CACHE, grade, submit

from autograder.build import REPO_ROOT, generate_lessons
from autograder.grading.execute_step import EXPERIMENT_TAG, is_experiment
from course.lessons import LESSON_NAMES
from fixtures.courses import fill_in
from notebook_runner import errors_by_cell, graded_test_ids

# A cell that uses the course's views or experiments is one the grader need not rerun: it must be tagged.
USES_A_VIEW_OR_EXPERIMENT = re.compile(r"^\s*(from|import) (course\.(views|experiments)|capstone\.cifar10)\b", re.M)


@pytest.mark.parametrize("lesson", LESSON_NAMES)
def test_views_and_experiments_are_tagged_and_only_ungraded_code_is(lesson):
    solution = nbformat.read(REPO_ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    tagged = [index for index, cell in enumerate(solution.cells) if EXPERIMENT_TAG in cell.metadata.get("tags", [])]
    assert tagged, f"{lesson} tags no experiment or view"
    for index in tagged:
        assert is_experiment(solution.cells[index], {solution.cells[index].source}), f"cell {index} has points"
    untagged = [
        index
        for index, cell in enumerate(solution.cells)
        if cell.cell_type == "code" and USES_A_VIEW_OR_EXPERIMENT.search(cell.source) and index not in tagged
    ]
    assert untagged == [], f"{lesson}: cells using a view or an experiment, not tagged {EXPERIMENT_TAG!r}"


def graded_by_hand(solution):
    """The nbgrader metadata of a solution notebook's cells graded by hand, in order: answer cells with points
    (no test scores them) and tasks."""
    roles = (cell.metadata.get("nbgrader", {}) for cell in solution.cells)
    return [role for role in roles if role.get("task") or (role.get("solution") and role.get("grade"))]


def with_draws_after_answers(notebook):
    """`notebook` with a cell after each answer cell that draws from Python's, NumPy's and torch's generators."""
    draws = "import random\nimport numpy\nimport torch\nrandom.random(), numpy.random.rand(3), torch.rand(5)"
    cells = []
    for cell in notebook.cells:
        cells.append(cell)
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cells.append(new_code_cell(draws))
    notebook.cells = cells
    return notebook


def unjudged_test_cells(lesson):
    """The graded test cells in which the lesson's reference run (every one this process made) compared nothing."""
    return [
        grade_id
        for path in REFERENCE_CACHE.glob(f"{lesson}-*.json")
        for grade_id, comparisons in json.loads(path.read_text()).items()
        if not comparisons
    ]


def perfect_result(row, by_hand):
    """What a perfect submission's row must say: every test passed, the cells graded by hand waiting for them."""
    waiting = {
        "status": "needs manual grading",
        "score": "",
        "manual_pending": " ".join(role["grade_id"] for role in by_hand),
    }
    return {
        **(waiting if by_hand else {"status": "graded", "score": row["max_score"], "manual_pending": ""}),
        "auto_score": row["auto_max_score"],
        "failures": "",
        "flags": "",
        "detail": "",
    }


@pytest.mark.slow
def test_every_lesson_solution_full_marks_and_no_flags(tmp_path):
    releases, submissions, out = tmp_path / "releases", tmp_path / "submissions", tmp_path / "out"
    generate_lessons(REPO_ROOT, LESSON_NAMES, releases)
    by_hand = {}
    for lesson in LESSON_NAMES:
        release = nbformat.read(releases / lesson / f"{lesson}.ipynb", as_version=4)
        solution = nbformat.read(REPO_ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
        by_hand[lesson] = graded_by_hand(solution)
        submit(submissions, "perfect", lesson, with_draws_after_answers(fill_in(release, solution)))
        submit(submissions, "blank", lesson, release)

    rows, _ = grade(submissions, out, "--jobs", "2")

    problems = {}
    for lesson in LESSON_NAMES:
        perfect, blank = rows["perfect", lesson], rows["blank", lesson]
        expected = perfect_result(perfect, by_hand[lesson])
        if {column: perfect[column] for column in expected} != expected:
            problems[lesson, "perfect"] = {column: perfect[column] for column in expected}
        # Written answers left as released score 0 at once; only a task waits for the instructor.
        waits = any(role.get("task") for role in by_hand[lesson])
        if (blank["status"], blank["flags"]) != ("needs manual grading" if waits else "graded", ""):
            problems[lesson, "blank"] = {column: blank[column] for column in ["status", "flags", "detail"]}
            continue
        graded_blank = nbformat.read(out / "nbgrader" / "autograded" / "blank" / lesson / f"{lesson}.ipynb", 4)
        errors = errors_by_cell(graded_blank)
        if set(errors) != graded_test_ids(graded_blank) or {name for name, _ in errors.values()} != {
            "NotImplementedError"
        }:
            problems[lesson, "blank errors"] = errors
        if unjudged_test_cells(lesson) or not list(REFERENCE_CACHE.glob(f"{lesson}-*.json")):
            problems[lesson, "reference run"] = unjudged_test_cells(lesson) or "none made"
    assert problems == {}
