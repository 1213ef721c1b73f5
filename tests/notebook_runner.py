"""Execute course notebooks the way a student's kernel would, in fast mode."""

import os
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from course.lessons import LESSONS as CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = [lesson.solution for lesson in CATALOGUE]
LESSONS = [lesson.release for lesson in CATALOGUE]


def execute(path, timeout=300, fast=True, first=None, last=None):
    """Run every cell (continuing past errors), by default with COURSE_FAST=1; return the executed notebook.

    `first` and `last` are code run in the same kernel before the notebook's first cell and after its last
    (e.g. to watch what the notebook does); they stay in the returned notebook as its first and last cells.
    """
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [
        *([nbformat.v4.new_code_cell(first)] if first else []),
        *notebook.cells,
        *([nbformat.v4.new_code_cell(last)] if last else []),
    ]
    os.environ["COURSE_FAST"] = "1" if fast else "0"  # inherited by the kernel
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(Path(path).parent)}},
    ).execute()
    return notebook


def graded_test_ids(notebook):
    """grade_ids of the autograded test cells (nbgrader: grade=True, solution=False)."""
    return {
        cell.metadata["nbgrader"]["grade_id"]
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
    }


def errors_by_cell(notebook):
    """{cell label: (exception name, message)} for every code cell that raised."""
    found = {}
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                label = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
                found[label] = (output.ename, output.evalue)
    return found


def without_hidden_tests(source):
    """A graded cell's source as the student's release holds it: nbgrader's own ClearHiddenTests removes every
    ### BEGIN HIDDEN TESTS … ### END HIDDEN TESTS region, leaving the visible self-check."""
    from nbgrader.preprocessors import ClearHiddenTests

    cell = nbformat.v4.new_code_cell(source)
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


def graded_cell_source(lesson, exercise, visible_only=False):
    """The source of `lesson`'s graded test cell for `exercise`; with `visible_only`, as the release holds it."""
    target = f"{lesson}_{exercise}"
    for cell in nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == target:
            return without_hidden_tests(cell.source) if visible_only else cell.source
    raise AssertionError(f"{lesson} has no graded cell {target}")


def run_graded_cell(lesson, exercise, answers=None, visible_only=False):
    """Run `lesson`'s graded test cell for `exercise` (self-check and hidden tests) on chosen answers.

    The setup cell and the solution's code answer cells before it run first, in notebook order; then the
    names in `answers` (e.g. ``{"adam_step": wrong_adam_step}``) replace the solution's, as a student's
    code would. This lets a test feed the hidden tests each known wrong answer. With `visible_only`, the
    graded cell runs with its hidden tests removed, exactly as the student's release holds it: the visible
    self-check alone.
    """
    target = f"{lesson}_{exercise}"
    namespace = {}
    threads = torch.get_num_threads()
    try:
        for cell in nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4).cells:
            nbgrader = cell.metadata.get("nbgrader", {})
            grade_id = nbgrader.get("grade_id", "")
            if grade_id == target:
                namespace.update(answers or {})
                source = without_hidden_tests(cell.source) if visible_only else cell.source
                exec(compile(source, f"{lesson}:{grade_id}", "exec"), namespace)
                return
            if grade_id == f"{lesson}_setup" or (nbgrader.get("solution") and cell.cell_type == "code"):
                exec(compile(cell.source, f"{lesson}:{grade_id}", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)  # setup cells tune the notebook's kernel, not the test process
    raise AssertionError(f"{lesson} has no graded cell {target}")
