"""Written answers, graded by hand: which cells they are, and keeping what the instructor entered in Formgrader.

nbgrader scores the test cells when it autogrades. A cell graded by hand (a written answer: an answer cell with
points, usually markdown; or a task) is left without a score until an instructor gives it one in Formgrader,
which writes manual_score, extra_credit and manual_comment into DIR/nbgrader/gradebook.db; only an answer left
as released scores 0 at once. Every run reads the scores from that gradebook (gradebook.read_scores), so running
`grade` again after Formgrader reports the manual scores without regrading anything.

What the instructor entered outlives the submission it was entered on, in DIR/manual_grades/<student>/<lesson>.json:
- `answers`: for each cell, a digest of what an entry on it judges: a cell graded by hand, its own text as handed
  in; any other cell (a comment on a code answer, a test's score overridden), the whole notebook. Written when
  the submission is merged into the course gradebook.
- `entries`: the instructor's entries on that submission, copied from the course gradebook at the start of every
  run, before a regrade replaces the submission there or a changed lesson rebuilds the gradebook.
- `feedback`: the entries the student's feedback page shows.
A regraded submission gets each entry back while its digest is unchanged. An entry on a changed answer is dropped,
so that the cell waits for the instructor again, and the row's detail says so.
"""

import hashlib
import json
from dataclasses import dataclass

import nbformat

from autograder.grading.feedback import write_feedback
from autograder.grading.gradebook import instructor_entries, merge_into_gradebook, open_gradebook
from autograder.grading.status import AUTOGRADED, GRADED


@dataclass(frozen=True)
class GradedCell:
    """A cell of a lesson that carries points."""

    grade_id: str
    points: float
    by_hand: bool  # a written answer or a task: scored in Formgrader, not by tests


def graded_cells(notebook):
    """The GradedCells of a lesson's source notebook, in notebook order."""
    cells = []
    for cell in notebook.cells:
        role = cell.metadata.get("nbgrader", {})
        if role.get("grade") or role.get("task"):
            # A graded answer cell is the student's own text (or code), which no test scores.
            cells.append(
                GradedCell(role["grade_id"], float(role["points"]), bool(role.get("task") or role["solution"]))
            )
    return cells


def answer_digests(submitted, source):
    """{grade_id: digest of what an instructor's entry on that cell judges} for each cell nbgrader records.

    `submitted`: the notebook as handed in; `source`: the lesson's solution notebook, which names the cells
    (answers, tests, tasks). A cell graded by hand is judged by its own text (None when the student deleted
    the cell), every other cell by the whole notebook.
    """
    whole = _digest(nbformat.writes(submitted))
    texts = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in submitted.cells
        if "grade_id" in cell.metadata.get("nbgrader", {})
    }
    by_hand = {cell.grade_id for cell in graded_cells(source) if cell.by_hand}
    digests = {}
    for cell in source.cells:
        role = cell.metadata.get("nbgrader", {})
        if role.get("grade") or role.get("solution") or role.get("task"):
            grade_id = role["grade_id"]
            if grade_id not in by_hand:
                digests[grade_id] = whole
            else:
                digests[grade_id] = _digest(texts[grade_id]) if grade_id in texts else None
    return digests


def save_instructor_entries(run):
    """Copy the instructor's entries on every submission of the course gradebook into its manual_grades file.

    Run before anything else changes the gradebook. A submission merged by a grader older than this module
    has no file, and so no answers to check its entries against: they stay in the gradebook until it is regraded.
    """
    if not (run.course / "gradebook.db").is_file():
        return
    with open_gradebook(run.course / "gradebook.db") as gradebook:
        entries = instructor_entries(gradebook)
    for (student, lesson), entered in entries.items():
        path = run.manual_grades_file(student, lesson)
        if not path.is_file():
            continue
        record = _read(path)
        if record["entries"] != entered:
            _write(path, {**record, "entries": entered})


def merge_submission(run, gradebook, row):
    """Merge a regraded row into the course gradebook (open as `gradebook`) with the instructor's entries that hold.

    A submission no longer graded leaves its manual_grades file as it is: the entries come back with a
    later submission of the same answers.
    """
    if row.status != GRADED:
        merge_into_gradebook(run, gradebook, row, {})
        return
    path = run.manual_grades_file(row.student, row.lesson)
    earlier = _read(path)
    answers = answer_digests(
        nbformat.read(run.submitted_notebook(row), as_version=4),
        nbformat.read(run.source_notebook(row.lesson), as_version=4),
    )
    carried = {
        cell: fields
        for cell, fields in earlier["entries"].items()
        if earlier["answers"].get(cell) is not None and earlier["answers"].get(cell) == answers.get(cell)
    }
    # Cells the lesson no longer has are dropped without a word: it is the lesson that changed.
    dropped = [cell for cell in answers if cell in earlier["entries"] and cell not in carried]
    merge_into_gradebook(run, gradebook, row, carried)
    # Its feedback page, just written from the submission's own gradebook, shows no entry.
    _write(path, {"answers": answers, "entries": carried, "feedback": {}})
    if dropped:
        note = f"changed since graded by hand, so the score and comment given were dropped: {', '.join(dropped)}"
        row.detail = "; ".join(filter(None, [row.detail, note]))


def refresh_feedback(run, rows):
    """Rewrite, from the course gradebook, the feedback page of every graded row whose instructor entries changed
    since the page was written, so that it shows the manual scores and comments.

    One page at a time, after every merge: `nbgrader generate_feedback` reads the gradebook this process writes.
    """
    with open_gradebook(run.course / "gradebook.db") as gradebook:
        entries = instructor_entries(gradebook)
    for row in rows:
        if row.status not in AUTOGRADED:
            continue
        path = run.manual_grades_file(row.student, row.lesson)
        record = _read(path)
        entered = entries[row.student, row.lesson]
        if record["feedback"] != entered and write_feedback(run, row, gradebook=run.course / "gradebook.db"):
            _write(path, {**record, "feedback": entered})


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path):
    return json.loads(path.read_text()) if path.is_file() else {"answers": {}, "entries": {}, "feedback": {}}


def _write(path, record):
    """Replace the file whole: a run stopped halfway must not leave the instructor's entries unreadable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(record, indent=1, sort_keys=True))
    partial.replace(path)
