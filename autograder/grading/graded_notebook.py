"""What the autograded notebook says about each cell: the tests that failed and the cells nbgrader interrupted.

nbgrader keeps every cell's outputs in the notebook it grades (autograded/<student>/<lesson>/); an error
output carries the exception's name (`ename`) and message (`evalue`), which is all this module reads.
"""

import nbformat

# The ename of the error nbgrader's Execute step appends to a cell it interrupted (Execute.error_on_timeout).
CELL_TIMEOUT_ENAME = "CellTimeoutError"


def interrupted_cells(autograded_notebook):
    """grade_ids (or 'cell N') of the cells nbgrader interrupted for running past the time limit."""
    notebook = nbformat.read(autograded_notebook, as_version=4)
    return [
        cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        for index, cell in enumerate(notebook.cells)
        if any(output.get("ename") == CELL_TIMEOUT_ENAME for output in cell.get("outputs", []))
    ]


def failed_tests(autograded_notebook):
    """'grade_id: the error' for each test cell that failed, with the message autograder.checks wrote.

    That message names the known mistake (autograder/mistakes/) the answer matches, when there is one.
    """
    notebook = nbformat.read(autograded_notebook, as_version=4)
    failures = []
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if not nbgrader.get("grade") or cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = " ".join(str(output.get("evalue", "")).split())
                failures.append(f"{nbgrader['grade_id']}: {output.get('ename')}: {message}"[:400])
    return failures
