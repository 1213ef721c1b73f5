"""Written answers graded by hand, end to end through `python -m autograder grade` and nbgrader's gradebook.

A toy lesson with a written answer (tests/fixtures/courses.py: `explain`, 2 points, graded by hand) goes
through the instructor's cycle: grade the class; score the written answers as Formgrader does (nbgrader's
Gradebook API on DIR/nbgrader/gradebook.db); grade again, which regrades nothing and reports the final scores
and feedback pages with the manual scores and comments; students resubmit; a lesson's source changes, which
rebuilds the course folder. What the instructor entered stays wherever the answer it judged is unchanged.
"""

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_grading import grade, submit

from autograder.build import COURSE_DIRECTORY, build_lessons
from fixtures.courses import fill_in, make_toy_course

LESSON = "toy_w"
STUDENTS = ["ada", "bob", "cy"]
SQUARE_WRONG = {"toy_w_square_answer": [("return x * x", "return x + x")]}
CUBE_WRONG = {"toy_w_cube_answer": [("return x ** 3", "return x ** 2")]}
ANSWER_REWORDED = {"toy_w_explain": [("An odd power keeps the sign", "Cubing keeps the sign")]}
ADA_COMMENT = "Right idea; an example was missing."
BOB_COMMENT = "Clear, with an example: half a point extra."
CY_COMMENT = "Start from the definition: x * x."


def summary(rows, *columns):
    return {student: tuple(rows[student, LESSON][column] for column in columns) for student in STUDENTS}


def formgrader(gradebook_path, student, cell, manual_score=None, extra_credit=None, comment=None):
    """Enter a manual score, extra credit or comment exactly as Formgrader's API handlers do."""
    with Gradebook(f"sqlite:///{gradebook_path}", COURSE_DIRECTORY.course_id) as gradebook:
        if manual_score is not None:
            grade = gradebook.find_grade(cell, LESSON, LESSON, student)
            grade.manual_score, grade.extra_credit = manual_score, extra_credit
            grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        if comment is not None:
            gradebook.find_comment(cell, LESSON, LESSON, student).manual_comment = comment
        gradebook.db.commit()


def entered(gradebook_path, student, cell):
    """(manual_score, manual_comment) of a written answer in the course gradebook."""
    with Gradebook(f"sqlite:///{gradebook_path}", COURSE_DIRECTORY.course_id) as gradebook:
        return (
            gradebook.find_grade(cell, LESSON, LESSON, student).manual_score,
            gradebook.find_comment(cell, LESSON, LESSON, student).manual_comment,
        )


@pytest.mark.slow
def test_written_answers_graded_by_hand(tmp_path):
    course, submissions, out = tmp_path / "course", tmp_path / "submissions", tmp_path / "out"
    make_toy_course(course, [LESSON], written=True)
    build_lessons([LESSON], course)
    release = nbformat.read(course / "lessons" / LESSON / f"{LESSON}.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    gradebook = out / "nbgrader" / "gradebook.db"

    def graded_at():
        """When each student's notebook was last autograded."""
        return {
            student: (out / "nbgrader" / "runs" / student / LESSON / "autograde.log").stat().st_mtime_ns
            for student in STUDENTS
        }

    def feedback(student):
        return out / "feedback" / student / LESSON / f"{LESSON}.html"

    submit(submissions, "ada", LESSON, fill_in(release, solution))
    submit(submissions, "bob", LESSON, fill_in(release, solution, CUBE_WRONG))
    submit(submissions, "cy", LESSON, release)  # nothing answered: the written answer scores 0 at once

    # 1. Autograded: the written answers wait for the instructor, so there is no final score yet.
    rows, columns = grade(submissions, out, "--jobs", "3", course_root=course)

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
        "toy_w_square",
        "toy_w_cube",
        "toy_w_explain",
        "failures",
        "flags",
        "detail",
    ]
    scores = ("status", "score", "auto_score", "manual_score", "manual_pending", "toy_w_explain")
    assert summary(rows, "max_score", "auto_max_score", "manual_max_score") == {
        student: ("5", "3", "2") for student in STUDENTS
    }
    assert summary(rows, *scores) == {
        "ada": ("needs manual grading", "", "3", "", "toy_w_explain", ""),
        "bob": ("needs manual grading", "", "1", "", "toy_w_explain", ""),
        "cy": ("graded", "0", "0", "0", "", "0"),
    }
    assert summary(rows, "detail") == {student: ("",) for student in STUDENTS}
    first_grading = graded_at()

    # 2. The instructor grades the written answers in Formgrader, then grades again: nothing is regraded.
    formgrader(gradebook, "ada", "toy_w_explain", manual_score=1.5, comment=ADA_COMMENT)
    formgrader(gradebook, "bob", "toy_w_explain", manual_score=2.0, extra_credit=0.5, comment=BOB_COMMENT)
    formgrader(gradebook, "cy", "toy_w_square_answer", comment=CY_COMMENT)  # a comment on a code answer
    rows, _ = grade(submissions, out, "--jobs", "3", course_root=course)

    assert graded_at() == first_grading
    assert summary(rows, *scores) == {
        "ada": ("graded", "4.5", "3", "1.5", "", "1.5"),
        "bob": ("graded", "3.5", "1", "2.5", "", "2.5"),  # 1 + 2 + 0.5 extra credit
        "cy": ("graded", "0", "0", "0", "", "0"),
    }
    page = feedback("ada").read_text()
    assert f"<h4>{LESSON} (Score: 4.5 / 5.0)</h4>" in page
    assert '<a href="#toy_w_explain">Written response</a> (Score: 1.5 / 2.0)' in page
    assert f"<b>Comments:</b> <p>{ADA_COMMENT}</p>" in page
    assert f"<h4>{LESSON} (Score: 3.5 / 5.0)</h4>" in feedback("bob").read_text()
    assert f"<b>Comments:</b> <p>{BOB_COMMENT}</p>" in feedback("bob").read_text()
    assert f"<b>Comments:</b> <p>{CY_COMMENT}</p>" in feedback("cy").read_text()
    cy_page_written = feedback("cy").stat().st_mtime_ns

    # 3. Resubmissions: ada changes code only and keeps her manual grade; bob rewords his written answer,
    # which waits for the instructor again. cy's page shows what it showed: it is not written again.
    submit(submissions, "ada", LESSON, fill_in(release, solution, SQUARE_WRONG))
    submit(submissions, "bob", LESSON, fill_in(release, solution, {**CUBE_WRONG, **ANSWER_REWORDED}))
    rows, _ = grade(submissions, out, "--jobs", "3", course_root=course)

    regraded = graded_at()
    assert [student for student in STUDENTS if regraded[student] != first_grading[student]] == ["ada", "bob"]
    assert summary(rows, *scores) == {
        "ada": ("graded", "3.5", "2", "1.5", "", "1.5"),
        "bob": ("needs manual grading", "", "1", "", "toy_w_explain", ""),
        "cy": ("graded", "0", "0", "0", "", "0"),
    }
    assert rows["ada", LESSON]["detail"] == ""
    assert rows["bob", LESSON]["detail"] == (
        "changed since graded by hand, so the score and comment given were dropped: toy_w_explain"
    )
    assert entered(gradebook, "bob", "toy_w_explain") == (None, None)
    page = feedback("ada").read_text()
    assert f"<h4>{LESSON} (Score: 3.5 / 5.0)</h4>" in page
    assert f"<b>Comments:</b> <p>{ADA_COMMENT}</p>" in page
    assert BOB_COMMENT not in feedback("bob").read_text()
    assert feedback("cy").stat().st_mtime_ns == cy_page_written

    # 4. The lesson's source changes: the course folder and its gradebook are rebuilt and every notebook
    # regraded; the manual scores and comments of unchanged answers come back.
    source = course / "solutions" / LESSON / f"{LESSON}.ipynb"
    changed = nbformat.read(source, as_version=4)
    changed.cells[0].source += "\nA written answer at the end."
    nbformat.write(changed, source)
    rows, _ = grade(submissions, out, "--jobs", "3", course_root=course)

    rebuilt = graded_at()
    assert all(rebuilt[student] != regraded[student] for student in STUDENTS)
    assert summary(rows, *scores) == {
        "ada": ("graded", "3.5", "2", "1.5", "", "1.5"),
        "bob": ("needs manual grading", "", "1", "", "toy_w_explain", ""),
        "cy": ("graded", "0", "0", "0", "", "0"),
    }
    assert entered(gradebook, "ada", "toy_w_explain") == (1.5, ADA_COMMENT)
    assert f"<b>Comments:</b> <p>{ADA_COMMENT}</p>" in feedback("ada").read_text()
    assert f"<b>Comments:</b> <p>{CY_COMMENT}</p>" in feedback("cy").read_text()
