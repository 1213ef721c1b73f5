"""A submission's structure made gradable: nbgrader's cell metadata and the lesson's cells, as nbgrader needs them.

nbgrader restores what a student may not change (a test cell's code, a deleted test cell), but it stops with a
bare KeyError, a metadata ValidationError or a RuntimeError, costing the whole lesson, when a notebook has no cells,
a cell copied with its grade_id, nbgrader metadata without a grade_id or with one the lesson does not have, flags
(grade, solution, locked, points) the lesson does not give that cell, a `schema_version` other than 3, keys its
schema does not know, or a test cell deleted together with the cell before it. `repair` settles each of these before
nbgrader sees the notebook, touching only the cells concerned, and says what it did in a sentence for the student.
"""

import copy
import json

from nbformat import from_dict
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell
from nbformat.v4.nbbase import random_cell_id

# The settings that decide how a cell is graded; a difference in nbgrader's bookkeeping (schema_version, checksum,
# the recorded cell_type) is put right without a note: a notebook of an earlier build of the lesson has other
# checksums, and the student can do nothing about either.
GRADING_SETTINGS = ("grade", "solution", "locked", "task", "points")
ROLE_FLAGS = ("grade", "solution", "locked", "task")
NEW_CELL = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}


class StructureError(ValueError):
    """A notebook with nothing to grade; the message is written for the student."""


def repair(notebook, release):
    """(a copy of `notebook` whose structure nbgrader can grade, one sentence per change for the student).

    `release` is the lesson as students get it: its cells with a grade_id ("lesson cells") carry the nbgrader
    metadata a submission must have. Raises StructureError when the notebook has no cells; any other notebook can
    be graded: the lesson's locked cells are put back and its tests score what the code before them earns.

    Rules, cell by cell in the notebook's order:
    - the first cell whose nbgrader metadata names a lesson cell is graded as that cell: it gets the lesson cell's
      nbgrader metadata, and its cell type (its text is kept; outputs go, attachments stay where the type has them);
    - a later cell naming the same lesson cell (a copy) keeps its text but loses its nbgrader metadata: an ordinary
      cell;
    - nbgrader metadata naming no lesson cell (an unknown or missing grade_id, not a mapping) is removed: an ordinary
      cell ("cell N" in a note counts the submitted notebook's cells from 1).
    Then each lesson cell a student may not edit (setup, test, written answer: locked or graded) that no cell is
    graded as is put back from the release, just before the next lesson cell the notebook has (at the end if none):
    after whatever the student wrote in its place. A missing code answer cell is not put back: its stub would
    replace the student's code above the tests.
    A change is noted unless it only renews bookkeeping or drops metadata that claims nothing.
    """
    if not notebook.cells:
        raise StructureError("your notebook has no cells")
    lesson_cells = {_grade_id(cell): cell for cell in release.cells if isinstance(_grade_id(cell), str)}
    repaired, notes = copy.deepcopy(notebook), []
    graded_as, copies = {}, {}  # grade_id -> the cell graded as it; grade_id -> number of cells naming it
    for position, cell in enumerate(repaired.cells):
        if "nbgrader" not in cell.metadata:
            continue
        grade_id = _grade_id(cell)
        lesson_cell = lesson_cells.get(grade_id) if isinstance(grade_id, str) else None
        if lesson_cell is None:
            note = _unknown_claim_note(cell, position)
            notes += [note] if note else []
            del cell.metadata["nbgrader"]
        elif grade_id in graded_as:
            copies[grade_id] += 1
            del cell.metadata["nbgrader"]
        else:
            notes += _settings_notes(cell, lesson_cell)
            cell = repaired.cells[position] = _graded_as(cell, lesson_cell)
            graded_as[grade_id], copies[grade_id] = cell, 1
    notes += [
        f"{_kind(lesson_cells[grade_id])} {grade_id} appears {'twice' if count == 2 else f'{count} times'}: "
        "the first copy was graded"
        for grade_id, count in copies.items()
        if count > 1
    ]
    return repaired, notes + _put_back_missing(repaired, lesson_cells, graded_as)


def nbgrader_metadata(cell):
    """The cell's nbgrader metadata; {} when it has none, or something a submission made other than a mapping."""
    nbgrader = cell.metadata.get("nbgrader", {})
    return nbgrader if isinstance(nbgrader, dict) else {}


def _grade_id(cell):
    return nbgrader_metadata(cell).get("grade_id")


def _kind(lesson_cell):
    """What a lesson cell is, in the student's words: 'answer cell', 'test cell', ..."""
    nbgrader = lesson_cell.metadata["nbgrader"]
    if nbgrader.get("solution"):
        return "written answer" if nbgrader.get("grade") else "answer cell"
    if nbgrader.get("grade"):
        return "test cell"
    return "task" if nbgrader.get("task") else "read-only cell"


def _unknown_claim_note(cell, position):
    """The note for removing metadata that names no lesson cell; None when it claims nothing (`{}`, all flags off)."""
    nbgrader = nbgrader_metadata(cell)
    if nbgrader.get("grade_id") is not None:
        return (
            f"a cell claims to be graded cell {nbgrader['grade_id']}, which this lesson does not have: "
            "graded as an ordinary cell"
        )
    if any(nbgrader.get(flag) for flag in ROLE_FLAGS):
        return (
            f"cell {position + 1} of your notebook is marked as graded but names no graded cell: "
            "graded as an ordinary cell"
        )
    return None


def _settings_notes(cell, lesson_cell):
    """Notes on how `cell`'s grading settings and type differ from the lesson cell it is graded as."""
    claimed, lesson = cell.metadata["nbgrader"], lesson_cell.metadata["nbgrader"]
    name = f"{_kind(lesson_cell)} {lesson['grade_id']}"
    notes = []
    changed = [key for key in GRADING_SETTINGS if claimed.get(key) != lesson.get(key)]
    if changed:
        claims = ", ".join(f"{key}: {json.dumps(claimed[key]) if key in claimed else 'missing'}" for key in changed)
        notes.append(f"{name} has grading settings this lesson does not give it ({claims}): the lesson's were put back")
    if cell.cell_type != lesson_cell.cell_type:
        notes.append(f"{name} was turned into a {cell.cell_type} cell: graded as a {lesson_cell.cell_type} cell")
    return notes


def _graded_as(cell, lesson_cell):
    """`cell` with the lesson cell's nbgrader metadata and cell type; its text, id and other metadata kept."""
    metadata = from_dict({**cell.metadata, "nbgrader": copy.deepcopy(lesson_cell.metadata["nbgrader"])})
    if cell.cell_type == lesson_cell.cell_type:
        cell.metadata = metadata
        return cell
    retyped = NEW_CELL[lesson_cell.cell_type](cell.source, metadata=metadata, id=cell.id)
    if "attachments" in cell and lesson_cell.cell_type != "code":  # a code cell cannot hold attachments
        retyped.attachments = cell.attachments
    return retyped


def _put_back_missing(repaired, lesson_cells, graded_as):
    """Insert into `repaired` the locked and graded lesson cells no cell is graded as; a note for each."""
    notes, following = [], None  # following: the lesson cell the notebook has next, None past the last
    for grade_id, lesson_cell in reversed(lesson_cells.items()):
        if grade_id in graded_as:
            following = graded_as[grade_id]
            continue
        nbgrader = lesson_cell.metadata["nbgrader"]
        if not (nbgrader.get("locked") or nbgrader.get("grade")):
            continue
        put_back = copy.deepcopy(lesson_cell)
        if any(cell.id == put_back.id for cell in repaired.cells):
            put_back.id = random_cell_id()
        where = len(repaired.cells) if following is None else _index(repaired.cells, following)
        repaired.cells.insert(where, put_back)
        following = put_back
        notes.append(f"{_kind(lesson_cell)} {grade_id} was missing: put back from the lesson")
    return notes[::-1]


def _index(cells, cell):
    """The position of `cell` itself (not of an equal cell) in `cells`."""
    return next(index for index, candidate in enumerate(cells) if candidate is cell)


def notes_cell(notes):
    """A markdown cell (no nbgrader metadata: never graded) that tells the student what `repair` changed."""
    return new_markdown_cell(
        "**The grader repaired your notebook's structure before grading it:**\n\n"
        + "".join(f"- {note}\n" for note in notes)
    )
