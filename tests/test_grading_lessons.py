"""Every lesson, graded end to end: what a perfect student hands in scores full marks, and nothing is flagged.

Two students hand in every lesson of course.lessons.LESSONS, graded in one batch with two workers, as an
instructor with two cores would run `python -m autograder grade`:
- `perfect`: the release with the solution's answers typed in (tests/fixtures/courses.py: fill_in). It must be
  graded in full, with no failed test, no flag and nothing interrupted;
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


@pytest.mark.slow
def test_every_lesson_solution_full_marks_and_no_flags(tmp_path):
    releases, submissions, out = tmp_path / "releases", tmp_path / "submissions", tmp_path / "out"
    generate_lessons(REPO_ROOT, LESSON_NAMES, releases)
    for lesson in LESSON_NAMES:
        release = nbformat.read(releases / lesson / f"{lesson}.ipynb", as_version=4)
        solution = nbformat.read(REPO_ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
        submit(submissions, "perfect", lesson, fill_in(release, solution))
        submit(submissions, "blank", lesson, release)

    rows, _ = grade(submissions, out, "--jobs", "2")

    problems = {}
    for lesson in LESSON_NAMES:
        perfect, blank = rows["perfect", lesson], rows["blank", lesson]
        graded = {column: perfect[column] for column in ["status", "score", "failures", "flags", "detail"]}
        if graded != {"status": "graded", "score": perfect["max_score"], "failures": "", "flags": "", "detail": ""}:
            problems[lesson, "perfect"] = graded
        if (blank["status"], blank["flags"]) != ("graded", ""):
            problems[lesson, "blank"] = {column: blank[column] for column in ["status", "flags", "detail"]}
    assert problems == {}
