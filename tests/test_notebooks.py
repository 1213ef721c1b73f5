"""Every solution runs clean, passes its own tests and draws accessible figures. That every released stub fails
exactly its graded tests is checked where the grader runs it: tests/test_grading_lessons.py."""

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from notebook_runner import CATALOGUE, LESSONS, SOLUTIONS, errors_by_cell, execute, graded_test_ids

# Run before a notebook: every figure drawn (inline, or into a widget's image) is checked by
# tests/plot_accessibility.py as it is rendered. Run after it: the findings, as JSON.
AUDIT_FIGURES = f"""
def _audit_figures():
    import sys
    sys.path.insert(0, {str(Path(__file__).parent)!r})
    from matplotlib.backend_bases import FigureCanvasBase
    import plot_accessibility

    audit = {{"figures": 0, "problems": []}}
    print_figure = FigureCanvasBase.print_figure

    def print_audited_figure(canvas, *args, **kwargs):
        audit["figures"] += 1
        audit["problems"] += plot_accessibility.problems(canvas.figure)
        return print_figure(canvas, *args, **kwargs)

    FigureCanvasBase.print_figure = print_audited_figure
    return audit


_figure_audit = _audit_figures()
"""
REPORT_FIGURES = "import json; print(json.dumps(_figure_audit))"


def figure_audit(notebook):
    """What AUDIT_FIGURES found, from the output of the REPORT_FIGURES cell (the notebook's last)."""
    return json.loads("".join(output.text for output in notebook.cells[-1].outputs if output.output_type == "stream"))


def test_every_lesson_has_a_solution_and_a_release():
    assert SOLUTIONS, "no solution notebooks found"
    assert [path.relative_to(path.parents[2] / "solutions") for path in SOLUTIONS] == [
        path.relative_to(path.parents[2] / "lessons") for path in LESSONS
    ]


# "**Points: 15.** 11 automatic (five exercises, ...) and 4 written (27 %)": the first cell's statement of the points.
POINTS = re.compile(r"\*\*Points: (\d+)\.\*\* (\d+) automatic \([^)]*\) and (\d+) written \((\d+) %\)")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.parts[-2])
def test_the_first_cell_states_the_points_the_cells_carry(path):
    """A lesson with written answers says in its first cell how many points are automatic and how many written,
    and those are the points its cells carry (README: each lesson's first cell states them)."""
    notebook = nbformat.read(path, as_version=4)
    roles = [cell.metadata.get("nbgrader", {}) for cell in notebook.cells]
    written = sum(
        role.get("points", 0) for role in roles if role.get("task") or (role.get("solution") and role.get("grade"))
    )
    automatic = sum(role.get("points", 0) for role in roles if role.get("grade") and not role.get("solution"))
    stated = POINTS.search(notebook.cells[0].source)
    if not written:
        assert stated is None, "the first cell states written points the lesson does not have"
        return
    assert stated, "a lesson with written answers states its points in the first cell"
    total = automatic + written
    assert tuple(map(int, stated.groups())) == (total, automatic, written, round(100 * written / total))


@pytest.mark.parametrize("path", SOLUTIONS + LESSONS, ids=lambda path: f"{path.parts[-3]}/{path.name}")
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    with_outputs = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not with_outputs, f"cells {with_outputs} of {path.name} were committed with outputs"


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.name)
def test_solution_runs_passes_its_tests_and_draws_accessible_figures(path):
    notebook = execute(path, first=AUDIT_FIGURES, last=REPORT_FIGURES)
    assert errors_by_cell(notebook) == {}
    graded = graded_test_ids(notebook)
    assert graded, f"{path.name} has no autograded test cells"
    audit = figure_audit(notebook)
    assert audit["figures"] > 0, "no figure was drawn: is the audit still watching print_figure?"
    assert audit["problems"] == [], "\n".join(audit["problems"])


def baseline_losses_of_lesson_09(folder, answer_edit=None):
    """The training losses of lesson 09's baseline runs (small-scale mode, fast size), with `answer_edit(source)`
    applied to the answer cell of exercise 1 (the student's MomentumSGD, AdamW and make_optimizer)."""
    lesson = next(lesson for lesson in CATALOGUE if lesson.name.startswith("09_"))
    notebook = nbformat.read(lesson.solution, as_version=4)
    answer = next(cell for cell in notebook.cells if "class MomentumSGD" in cell.source)
    if answer_edit:
        edited = answer_edit(answer.source)
        assert edited != answer.source, "the edit no longer applies to the answer"
        answer.source = edited
    path = folder / lesson.solution.name
    nbformat.write(notebook, path)
    report = 'import json\nprint(json.dumps(ablation["results"]["arms"]["baseline"]["train_loss"]))'
    executed = execute(path, last=report)
    # A broken answer fails its own graded test, and nothing else: the runs go on with it.
    allowed = {f"{lesson.name}_make_optimizer"} if answer_edit else set()
    assert set(errors_by_cell(executed)) <= allowed
    return json.loads(executed.cells[-1].outputs[-1]["text"])["values"]


@pytest.mark.slow
def test_lesson_09_trains_with_the_students_own_optimizer(tmp_path):
    """The capstone's point: the runs train with the answer's MomentumSGD. One whose step leaves the weights where
    they are (but raises nothing, so it is used) gives other losses than the working one."""
    working = baseline_losses_of_lesson_09(tmp_path)
    frozen = baseline_losses_of_lesson_09(
        tmp_path, lambda source: source.replace('p.sub_(group["lr"] * grad)', "p.sub_(0 * grad)")
    )
    assert working != frozen and all(np.isfinite(working))
