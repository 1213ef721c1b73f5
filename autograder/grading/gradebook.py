"""nbgrader's gradebooks: the lessons' points, the merge into the course's gradebook.db, and the scores read from it.

Each submission is autograded against its own copy of template.db (runs/<student>/<lesson>/gradebook.db),
so the parallel nbgrader processes never write the same database. `merge_into_gradebook`, run in the main
process one submission at a time, is the grader's only writer of DIR/nbgrader/gradebook.db, the one the
Formgrader shows and where an instructor's manual scores and comments go; grades.csv reads every score there.
"""

import contextlib
import os
import sysconfig

from nbgrader.api import Comment, Grade, Gradebook, MissingEntry, SubmittedAssignment
from sqlalchemy import or_

from autograder.build import COURSE_DIRECTORY
from autograder.grading.status import AUTOGRADED, GRADED, NEEDS_MANUAL_GRADING

# What an instructor enters in Formgrader: on a graded cell (nbgrader's Grade), on an answer cell (its Comment).
GRADE_FIELDS = ("manual_score", "extra_credit")
COMMENT_FIELDS = ("manual_comment",)


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


def instructor_entries(gradebook):
    """{(student, lesson): {grade_id: {field: value}}} for every submission in `gradebook` (an open Gradebook).

    The fields are what an instructor enters in Formgrader: a cell's manual_score and extra_credit, a
    comment's manual_comment; those never set are left out, so a submission nobody graded by hand maps to {}.
    """
    entries = {(graded.student.id, graded.name): {} for graded in gradebook.db.query(SubmittedAssignment)}
    for kind, fields in ((Grade, GRADE_FIELDS), (Comment, COMMENT_FIELDS)):
        for entry in gradebook.db.query(kind).filter(or_(*(getattr(kind, name).isnot(None) for name in fields))):
            cell = entries[entry.student.id, entry.assignment.name].setdefault(entry.name, {})
            cell.update({name: getattr(entry, name) for name in fields if getattr(entry, name) is not None})
    return entries


def merge_into_gradebook(run, gradebook, row, carried):
    """Put a regraded row's submission, from its own gradebook, into the course's (open as `gradebook`).

    `carried`: the instructor's entries to give the new submission ({grade_id: {field: value}}, as
    `instructor_entries` gives them). A submission no longer graded (now invalid, say) is removed, so the
    Formgrader never shows a stale result.
    """
    gradebook.update_or_create_student(row.student)
    with contextlib.suppress(MissingEntry):
        gradebook.remove_submission(row.lesson, row.student)
    if row.status == GRADED:
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
        for cell, fields in carried.items():
            _enter(gradebook, row, cell, fields)
    gradebook.db.commit()


def _enter(gradebook, row, cell, fields):
    """Enter an instructor's fields on one cell of the row's submission, as Formgrader does.

    A cell the lesson no longer grades (its source changed) has no grade or comment to take them: they are dropped.
    """
    # One notebook per lesson, named after it.
    if any(name in fields for name in GRADE_FIELDS):
        with contextlib.suppress(MissingEntry):
            grade = gradebook.find_grade(cell, row.lesson, row.lesson, row.student)
            grade.manual_score, grade.extra_credit = fields.get("manual_score"), fields.get("extra_credit")
            # Formgrader's rule: a cell needs grading by hand while it has neither score.
            grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
    if "manual_comment" in fields:
        with contextlib.suppress(MissingEntry):
            gradebook.find_comment(cell, row.lesson, row.lesson, row.student).manual_comment = fields["manual_comment"]


def read_scores(run, rows, lesson_cells):
    """Fill in every row's scores from the course's gradebook.db, where Formgrader writes the manual ones.

    `lesson_cells`: {lesson: its GradedCells (autograder/grading/manual_grading.py)}. A graded row whose cells
    graded by hand all have a score is `graded`, its score nbgrader's score of the submission (Grade.score:
    a manual score before the automatic one, extra credit added); one with a written answer still without a
    score `needs manual grading`, with the automatic part only: its score and manual_score stay empty, since
    a partial score is not final. A row nbgrader did not grade keeps its score of 0.
    """
    with open_gradebook(run.course / "gradebook.db") as gradebook:
        for row in rows:
            cells = lesson_cells[row.lesson]
            row.auto_max_score = sum(cell.points for cell in cells if not cell.by_hand)
            row.manual_max_score = sum(cell.points for cell in cells if cell.by_hand)
            if row.status not in AUTOGRADED:
                continue
            submission = gradebook.find_submission(row.lesson, row.student)
            grades = {grade.name: grade for notebook in submission.notebooks for grade in notebook.grades}
            # An answer left as released has scored 0 already (nbgrader's "No response"): it waits for nobody.
            row.manual_pending = [
                cell.grade_id
                for cell in cells
                if cell.by_hand
                and grades[cell.grade_id].auto_score is None
                and grades[cell.grade_id].manual_score is None
            ]
            row.cell_scores = {
                cell.grade_id: "" if cell.grade_id in row.manual_pending else grades[cell.grade_id].score
                for cell in cells
            }
            row.auto_score = sum(grades[cell.grade_id].score for cell in cells if not cell.by_hand)
            if row.manual_pending:
                row.status, row.score, row.manual_score = NEEDS_MANUAL_GRADING, None, None
            else:
                row.manual_score = sum(grades[cell.grade_id].score for cell in cells if cell.by_hand)
                row.status, row.score = GRADED, submission.score
