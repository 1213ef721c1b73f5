"""Derive, don't transcribe: an answer cell's docstring and comments state the contract, never its solution's code."""

import re

import nbformat
import pytest

from course.lessons import LESSONS
from fixtures.courses import SOLUTION_REGION

# What a solution line computes, without `return` or an assignment's target.
COMPUTED = re.compile(r"^(?:return\s+|[\w.\[\], ]+?\s*=\s*(?!=))?(?P<expression>.+)$")
# A tuple of names (`return dx, dgamma, dbeta`), an opening call (`torch.optim.SGD(`) or a submodule the contract
# fixes (`nn.Linear(width, width)`, which state_dict's keys depend on) names things, computes nothing.
NAMES_ONLY = re.compile(r"^[\w.]+(?:\s*,\s*[\w.]+)*,?$|^[\w.]+\($|^nn\.\w+\(")
# Answers whose docstring still states a line of the solution, and the issue that rewrites them.
TRANSCRIBED = {
    "06_normalization_regularization_dropout_answer": "issue 18",
    "07_init_residual_health_report_answer": "issue 18",
}


def squeezed(text):
    return re.sub(r"\s+", "", text)


def transcribed_lines(cell_source):
    """The solution's lines whose computation the cell's text outside the solution states, spaces aside."""
    outside = squeezed(SOLUTION_REGION.sub("", cell_source))
    found = []
    for region in SOLUTION_REGION.findall(cell_source):
        for line in region.splitlines():
            expression = COMPUTED.match(line.strip()).group("expression") if line.strip() else ""
            if line.strip().startswith("#") or NAMES_ONLY.match(expression) or len(squeezed(expression)) < 10:
                continue
            if squeezed(expression) in outside:
                found.append(line.strip())
    return found


ANSWER_CELLS = [
    pytest.param(cell, id=cell.metadata["nbgrader"]["grade_id"])
    for lesson in LESSONS
    for cell in nbformat.read(lesson.solution, as_version=4).cells
    if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
]


@pytest.mark.parametrize("cell", ANSWER_CELLS)
def test_the_docstring_states_the_contract_not_the_code(cell):
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    found = transcribed_lines(cell.source)
    if grade_id in TRANSCRIBED:
        assert found, f"{grade_id} no longer transcribes its solution: remove it from TRANSCRIBED"
        pytest.xfail(f"docstring states the code, until {TRANSCRIBED[grade_id]}")
    assert not found, f"the docstring or comments state the solution's code: {found}"


def test_the_check_finds_a_transcribed_line():
    source = 'def gd_step(param, grad, lr):\n    """Return param - lr * grad."""\n'
    source += "    ### BEGIN SOLUTION\n    return param - lr * grad\n    ### END SOLUTION\n"
    assert transcribed_lines(source) == ["return param - lr * grad"]
    assert transcribed_lines(source.replace("Return param - lr * grad.", "One step of gradient descent.")) == []
