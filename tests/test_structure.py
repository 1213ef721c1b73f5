"""Notebooks whose structure nbgrader cannot grade, made gradable by autograder/grading/structure.py: `repair`.

Each structure is checked on the toy lesson (tests/fixtures/courses.py) in milliseconds: the repaired notebook
and the exact notes. tests/test_grading_hostile.py grades such notebooks, as handed in, beside honest ones.
"""

import copy

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from autograder.grading.structure import StructureError, repair
from fixtures.courses import fill_in, release_of, toy_solution

SOLUTION = toy_solution("toy_a", written=True)
RELEASE = release_of(SOLUTION)
HONEST = fill_in(RELEASE, SOLUTION)


def index_of(notebook, grade_id):
    return next(
        index
        for index, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def edited(change, notebook=HONEST):
    """A copy of `notebook` after `change(copy)`."""
    notebook = copy.deepcopy(notebook)
    change(notebook)
    return notebook


def nbgrader_of(notebook, grade_id):
    return notebook.cells[index_of(notebook, grade_id)].metadata.nbgrader


def test_an_honest_notebook_comes_back_unchanged_as_a_copy():
    repaired, notes = repair(HONEST, RELEASE)
    assert (repaired, notes) == (HONEST, [])
    assert repaired is not HONEST


def test_no_cells_is_not_gradable():
    with pytest.raises(StructureError, match="^your notebook has no cells$"):
        repair(edited(lambda notebook: notebook.cells.clear()), RELEASE)


@pytest.mark.parametrize(("copies", "words"), [(2, "twice"), (3, "3 times")])
def test_a_copied_answer_cell_the_first_copy_is_graded(copies, words):
    answer = index_of(HONEST, "toy_a_square_answer")

    def paste_copies(notebook):
        for number in range(copies - 1):
            pasted = copy.deepcopy(notebook.cells[answer])
            pasted.id, pasted.source = f"pasted-{number}", f"# copy {number}\n" + pasted.source
            notebook.cells.insert(answer + 1 + number, pasted)

    submitted = edited(paste_copies)
    repaired, notes = repair(submitted, RELEASE)
    assert notes == [f"answer cell toy_a_square_answer appears {words}: the first copy was graded"]
    assert repaired.cells[answer] == submitted.cells[answer]
    for pasted, original in zip(repaired.cells[answer + 1 : answer + copies], submitted.cells[answer + 1 :]):
        assert "nbgrader" not in pasted.metadata
        assert (pasted.cell_type, pasted.source, pasted.id) == (original.cell_type, original.source, original.id)
    assert len(repaired.cells) == len(submitted.cells)


def test_a_fake_test_cell_with_a_grade_id_the_lesson_does_not_have_becomes_ordinary():
    fake = new_code_cell(
        "bonus = 10",
        metadata={"nbgrader": {"grade": True, "grade_id": "bonus", "locked": True, "points": 10, "schema_version": 3}},
    )
    repaired, notes = repair(edited(lambda notebook: notebook.cells.insert(1, fake)), RELEASE)
    assert notes == [
        "a cell claims to be graded cell bonus, which this lesson does not have: graded as an ordinary cell"
    ]
    assert repaired.cells[1].metadata == {} and repaired.cells[1].source == "bonus = 10"
    assert repaired.cells[:1] + repaired.cells[2:] == HONEST.cells


def test_a_cell_marked_graded_without_a_grade_id_becomes_ordinary():
    marked = new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "points": 5, "solution": False}})
    repaired, notes = repair(edited(lambda notebook: notebook.cells.insert(1, marked)), RELEASE)
    assert notes == ["cell 2 of your notebook is marked as graded but names no graded cell: graded as an ordinary cell"]
    assert "nbgrader" not in repaired.cells[1].metadata


def test_an_answer_cell_claiming_to_be_a_test_cell_gets_the_lessons_settings():
    def claim_points(notebook):
        nbgrader_of(notebook, "toy_a_square_answer").update(grade=True, locked=True, points=5)

    repaired, notes = repair(edited(claim_points), RELEASE)
    assert notes == [
        "answer cell toy_a_square_answer has grading settings this lesson does not give it "
        "(grade: true, locked: true, points: 5): the lesson's were put back"
    ]
    assert repaired == HONEST


def test_wrongly_typed_settings_are_replaced_by_the_lessons():
    def mistype(notebook):
        nbgrader_of(notebook, "toy_a_square").update(grade="yes", points="1")

    repaired, notes = repair(edited(mistype), RELEASE)
    assert notes == [
        'test cell toy_a_square has grading settings this lesson does not give it (grade: "yes", points: "1"): '
        "the lesson's were put back"
    ]
    assert repaired == HONEST


@pytest.mark.parametrize(
    "bookkeeping",
    [
        {"schema_version": 4},
        {"schema_version": 2},
        {"schema_version": "3"},
        {"checksum": "abc"},
        {"cell_type": "markdown"},
        {"hint": "an extra key"},
    ],
)
def test_nbgraders_bookkeeping_is_renewed_without_a_note(bookkeeping):
    repaired, notes = repair(edited(lambda notebook: nbgrader_of(notebook, "toy_a_cube").update(bookkeeping)), RELEASE)
    assert (repaired, notes) == (HONEST, [])


def test_a_missing_schema_version_is_renewed_without_a_note():
    without_version = edited(lambda notebook: nbgrader_of(notebook, "toy_a_cube").pop("schema_version"))
    repaired, notes = repair(without_version, RELEASE)
    assert (repaired, notes) == (HONEST, [])


@pytest.mark.parametrize("metadata", [{}, "graded", ["x"], None, {"grade": False, "solution": False, "locked": False}])
def test_nbgrader_metadata_that_claims_nothing_is_dropped_without_a_note(metadata):
    repaired, notes = repair(edited(lambda notebook: notebook.cells[0].metadata.update(nbgrader=metadata)), RELEASE)
    assert (repaired, notes) == (HONEST, [])


@pytest.mark.parametrize(
    ("grade_id", "new_cell", "note"),
    [
        (
            "toy_a_square_answer",
            new_markdown_cell,
            "answer cell toy_a_square_answer was turned into a markdown cell: graded as a code cell",
        ),
        (
            "toy_a_cube_answer",
            new_raw_cell,
            "answer cell toy_a_cube_answer was turned into a raw cell: graded as a code cell",
        ),
        (
            "toy_a_square",
            new_markdown_cell,
            "test cell toy_a_square was turned into a markdown cell: graded as a code cell",
        ),
        (
            "toy_a_explain",
            new_code_cell,
            "written answer toy_a_explain was turned into a code cell: graded as a markdown cell",
        ),
    ],
)
def test_a_graded_cell_of_another_type_is_graded_as_the_lessons_type_with_its_text(grade_id, new_cell, note):
    index = index_of(HONEST, grade_id)

    def retype(notebook):
        cell = notebook.cells[index]
        notebook.cells[index] = new_cell(cell.source, metadata=cell.metadata, id=cell.id)

    repaired, notes = repair(edited(retype), RELEASE)
    assert notes == [note]
    assert repaired == HONEST


def test_attachments_stay_where_the_lessons_type_has_them():
    index = index_of(HONEST, "toy_a_explain")
    attachments = {"figure.png": {"image/png": "iVBORw0KGgo="}}

    def as_raw_with_a_figure(notebook):
        cell = notebook.cells[index]
        notebook.cells[index] = new_raw_cell(cell.source, metadata=cell.metadata, id=cell.id, attachments=attachments)

    repaired, _ = repair(edited(as_raw_with_a_figure), RELEASE)
    assert (repaired.cells[index].cell_type, repaired.cells[index].attachments) == ("markdown", attachments)


def test_a_test_cell_deleted_with_its_answer_cell_is_put_back_before_the_next_lesson_cell():
    answer = index_of(HONEST, "toy_a_square_answer")
    scratch = new_code_cell("def square(x):\n    return x * x", id="scratch")

    def replace_exercise(notebook):
        notebook.cells[answer : answer + 2] = [scratch]

    repaired, notes = repair(edited(replace_exercise), RELEASE)
    assert notes == ["test cell toy_a_square was missing: put back from the lesson"]
    assert repaired.cells[answer] == scratch
    assert repaired.cells[answer + 1] == RELEASE.cells[index_of(RELEASE, "toy_a_square")]
    assert repaired.cells[answer + 2 :] == HONEST.cells[answer + 2 :]


def test_a_notebook_without_lesson_cells_gets_them_put_back_at_the_end_in_the_lessons_order():
    mine = [new_markdown_cell("my own notebook", id="mine-0"), new_code_cell("square = abs", id="mine-1")]
    repaired, notes = repair(edited(lambda notebook: setattr(notebook, "cells", mine)), RELEASE)
    assert notes == [
        "test cell toy_a_square was missing: put back from the lesson",
        "test cell toy_a_cube was missing: put back from the lesson",
        "written answer toy_a_explain was missing: put back from the lesson",
    ]
    put_back = ["toy_a_square", "toy_a_cube", "toy_a_explain"]
    assert repaired.cells == mine + [RELEASE.cells[index_of(RELEASE, grade_id)] for grade_id in put_back]


def test_a_put_back_cell_gets_an_id_of_its_own():
    test = index_of(HONEST, "toy_a_cube")

    def keep_the_cell_without_its_metadata(notebook):
        del notebook.cells[test].metadata["nbgrader"]

    repaired, notes = repair(edited(keep_the_cell_without_its_metadata), RELEASE)
    assert notes == ["test cell toy_a_cube was missing: put back from the lesson"]
    ids = [cell.id for cell in repaired.cells]
    assert len(set(ids)) == len(ids) == len(HONEST.cells) + 1
