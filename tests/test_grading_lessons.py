"""Every lesson, graded end to end: what a perfect student hands in scores full marks, and nothing is flagged.

Two students hand in every lesson of course.lessons.LESSONS, graded in one batch with two workers, as an
instructor with two cores would run `python -m autograder grade`:
- `perfect`: the release with the solution's answers typed in (tests/fixtures/courses.py: fill_in). It must get
  every test's points, with no failed test, no flag and nothing interrupted. A lesson without written answers is
  then `graded` in full; one with written answers or tasks (graded by hand, read from the solution's nbgrader
  metadata) `needs manual grading`, with exactly those cells pending;
- `blank`: the release as it is. It must get no flag: an integrity flag on a notebook nobody touched would be on
  every notebook, and hide the real ones.

The releases are generated here from solutions/, as the grader generates the ones it grades against; they are
the committed lessons/ whenever tests/test_build.py passes, and stay consistent with the solutions while a
lesson is being edited.
"""

import nbformat
import pytest
from test_grading import grade, submit

from autograder.build import REPO_ROOT, generate_lessons
from course.lessons import LESSON_NAMES
from fixtures.courses import fill_in


def graded_by_hand(solution):
    """The nbgrader metadata of a solution notebook's cells graded by hand, in order: answer cells with points
    (no test scores them) and tasks."""
    roles = (cell.metadata.get("nbgrader", {}) for cell in solution.cells)
    return [role for role in roles if role.get("task") or (role.get("solution") and role.get("grade"))]


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
        submit(submissions, "perfect", lesson, fill_in(release, solution))
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
    assert problems == {}
