"""Every solution runs clean and passes its own tests; every released stub fails exactly its graded tests."""
import nbformat
import pytest

from notebook_runner import LESSONS, SOLUTIONS, errors_by_cell, execute, graded_test_ids


def test_every_lesson_has_a_solution_and_a_release():
    assert SOLUTIONS, "no solution notebooks found"
    assert [path.relative_to(path.parents[2] / "solutions") for path in SOLUTIONS] == [
        path.relative_to(path.parents[2] / "lessons") for path in LESSONS
    ]


@pytest.mark.parametrize("path", SOLUTIONS + LESSONS, ids=lambda path: f"{path.parts[-3]}/{path.name}")
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    with_outputs = [index for index, cell in enumerate(notebook.cells)
                    if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]
    assert not with_outputs, f"cells {with_outputs} of {path.name} were committed with outputs"


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.name)
def test_solution_runs_and_passes_its_tests(path):
    notebook = execute(path)
    assert errors_by_cell(notebook) == {}
    graded = graded_test_ids(notebook)
    assert graded, f"{path.name} has no autograded test cells"


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.name)
def test_lesson_stub_fails_exactly_its_graded_tests(path):
    notebook = execute(path)
    errors = errors_by_cell(notebook)
    # Every exercise left unanswered fails its tests with NotImplementedError, and nothing else breaks:
    # the explanations, widgets and experiments fall back to the reference.
    assert set(errors) == graded_test_ids(notebook)
    assert {name for name, _ in errors.values()} == {"NotImplementedError"}
