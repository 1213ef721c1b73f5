"""nbgrader's gradebooks: the lessons' points, a submission's scores, and the merge into the course's gradebook.db.

Each submission is autograded against its own copy of template.db (runs/<student>/<lesson>/gradebook.db),
so the parallel nbgrader processes never write the same database. `merge_into_gradebook`, run in the main
process one submission at a time, is the only writer of DIR/nbgrader/gradebook.db, the one the Formgrader shows.
"""

import contextlib
import os
import sysconfig

from nbgrader.api import Gradebook, MissingEntry

from autograder.build import COURSE_DIRECTORY
from autograder.grading.status import GRADED


def open_gradebook(path):
    return Gradebook(f"sqlite:///{path}", COURSE_DIRECTORY.course_id)


def make_gradebook_tool_findable():
    """Put this interpreter's scripts folder on PATH.

    nbgrader's Gradebook runs the `alembic` command to check the database schema; under `make`, or
    with .venv/bin/python called directly, the virtual environment is not activated and the command
    is not found. Setting it here covers both this process and the nbgrader processes it starts.
    """
    scripts = sysconfig.get_path("scripts")
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def lesson_max_scores(run, lessons):
    """{lesson: its points}, as the template gradebook counts them."""
    with open_gradebook(run.course / "template.db") as gradebook:
        return {lesson: gradebook.find_assignment(lesson).max_score for lesson in lessons}


def read_scores(run, submission, row):
    """Fill in the row's score and per-cell scores from the submission's own gradebook."""
    with open_gradebook(run.run_folder(submission) / "gradebook.db") as gradebook:
        graded = gradebook.find_submission(submission.lesson, submission.student)
        row.score = graded.score
        grades = [grade for notebook in graded.notebooks for grade in notebook.grades]
        # No automatic score: a written answer, left blank for an instructor to grade by hand (Formgrader).
        row.cell_scores = {grade.name: "" if grade.needs_manual_grade else grade.score for grade in grades}
        by_hand = [grade.name for grade in grades if grade.needs_manual_grade]
        if by_hand:
            row.detail = "; ".join(filter(None, [row.detail, f"to grade by hand: {', '.join(by_hand)}"]))


def merge_into_gradebook(run, rows):
    """Copy each regraded submission from its own gradebook into the course's gradebook.db.

    A submission no longer graded (now invalid, say) is removed, so the Formgrader never shows a stale result.
    """
    with open_gradebook(run.course / "gradebook.db") as gradebook:
        for row in rows:
            gradebook.update_or_create_student(row.student)
            with contextlib.suppress(MissingEntry):
                gradebook.remove_submission(row.lesson, row.student)
            if row.status != GRADED:
                continue
            with open_gradebook(run.run_folder(row) / "gradebook.db") as own:
                graded = own.find_submission(row.lesson, row.student)
                gradebook.add_submission(row.lesson, row.student, timestamp=graded.timestamp)
                for notebook in graded.notebooks:
                    for grade in notebook.grades:
                        target = gradebook.find_grade(grade.name, notebook.name, row.lesson, row.student)
                        target.auto_score, target.needs_manual_grade = grade.auto_score, grade.needs_manual_grade
                    for comment in notebook.comments:
                        gradebook.find_comment(
                            comment.name, notebook.name, row.lesson, row.student
                        ).auto_comment = comment.auto_comment
            gradebook.db.commit()
