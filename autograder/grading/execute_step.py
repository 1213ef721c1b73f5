"""nbgrader's Execute step as the grader runs it, and the autograde steps the grader runs.

When a kernel dies or a cell cannot be interrupted, nbgrader logs the exception, deletes the half-graded
notebook and exits 1: nothing it leaves but its log says which happened. Its autograde steps are a
configurable list (Autograde.autograde_preprocessors), so the grader runs `nbgrader autograde` with
`autograde_options`, which put GradingExecute in Execute's place; GradingExecute writes the
exception's classes to a file before nbgrader handles the exception as usual, and does not rerun the
lesson's experiments (cells tagged `experiment`, which carry no points): they show the output handed in.
The same options add, after LimitOutput and before the scores are saved: UnscoredStderr, a graded cell's
warnings shown, not scored (stderr_output.py); LimitOutputBytes, outputs bounded in bytes; NoPartialCredit, a
test cell scoring all or nothing (output_rules.py).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, LimitOutput
from traitlets import Unicode

from autograder.grading.output_rules import LimitOutputBytes, NoPartialCredit
from autograder.grading.stderr_output import UnscoredStderr


@dataclass(frozen=True)
class ExecuteFailure:
    """The exception that ended a notebook's run, by the qualified names of its classes.

    The classes of the exceptions it was raised while handling are included, as a traceback shows them:
    a kernel that dies while a stuck cell is being stopped still counts as a cell that could not be stopped.
    """

    classes: tuple

    @classmethod
    def of(cls, error):
        classes = []
        while error is not None:
            classes += [qualified_name(exception_class) for exception_class in type(error).__mro__]
            error = error.__cause__ or error.__context__
        return cls(tuple(dict.fromkeys(classes)))

    @classmethod
    def read(cls, path):
        """The failure recorded at `path`, or None when the notebook's run raised nothing."""
        return cls(tuple(json.loads(Path(path).read_text()))) if Path(path).is_file() else None

    def write(self, path):
        Path(path).write_text(json.dumps(self.classes))

    def is_a(self, exception_class):
        return qualified_name(exception_class) in self.classes


def qualified_name(exception_class):
    """'nbclient.exceptions.DeadKernelError' for DeadKernelError: a class's name, valid across processes."""
    return f"{exception_class.__module__}.{exception_class.__qualname__}"


class GradingExecute(Execute):
    """nbgrader's Execute step as the grader runs it: it writes the exception it gives up with to `failure_file`
    first, and it does not rerun the lesson's experiments.

    An experiment carries no points (a code cell the lesson's source tags EXPERIMENT_TAG: a training comparison, an
    interactive view), yet costs most of a lesson's run. A cell of the submission whose source is, character for
    character, one of them is not run: it shows the outputs handed in with it, under a line saying so, for the
    instructor grading the written answers and for the feedback page; they are the student's, like everything in
    the notebook, and pass through the same output limits. An edited experiment is run as any other cell.
    """

    failure_file = Unicode(help="where to record, as JSON, the exception that ended the notebook's run").tag(
        config=True
    )
    source_notebook = Unicode(help="the lesson's source notebook, which tags its experiments").tag(config=True)
    handed_in_notebook = Unicode(help="the notebook as handed in, with the outputs the student saw").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        source = nbformat.read(self.source_notebook, as_version=4)
        self.experiments = {cell.source for cell in source.cells if EXPERIMENT_TAG in cell.metadata.get("tags", [])}
        self.handed_in = nbformat.read(self.handed_in_notebook, as_version=4).cells
        try:
            return super().preprocess(nb, resources, km)
        except Exception as error:
            ExecuteFailure.of(error).write(self.failure_file)
            raise

    def preprocess_cell(self, cell, resources, index):
        if not is_experiment(cell, self.experiments):
            return super().preprocess_cell(cell, resources, index)
        handed_in = self.handed_in[index] if index < len(self.handed_in) else None
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=NOT_RERUN)]
        if handed_in is not None and handed_in.get("source") == cell.source:
            cell.outputs += handed_in.get("outputs", [])
        cell.execution_count = None
        return cell, resources


EXPERIMENT_TAG = "experiment"
NOT_RERUN = "[Not rerun by the grader: an experiment carries no points. Below, the output handed in with it.]\n"


def is_experiment(cell, experiments):
    """Whether `cell` is one of the lesson's experiments (their sources, `experiments`), unchanged: a code cell
    without points whose source is one of them."""
    nbgrader = cell.metadata.get("nbgrader", {})
    graded = nbgrader.get("grade") or nbgrader.get("solution")
    return cell.cell_type == "code" and not graded and cell.source in experiments


def autograde_options(failure_file, source_notebook, handed_in_notebook):
    """`nbgrader autograde` options: nbgrader's own autograde steps with GradingExecute in Execute's place,
    and after LimitOutput, before the scores are saved, UnscoredStderr, LimitOutputBytes and NoPartialCredit.

    LimitOutputBytes follows UnscoredStderr so that its budgets hold for the outputs as saved.
    """
    steps = []
    for step in Autograde.class_traits()["autograde_preprocessors"].default():
        steps.append(GradingExecute if step is Execute else step)
        if step is LimitOutput:
            steps += [UnscoredStderr, LimitOutputBytes, NoPartialCredit]
    return [f"--Autograde.autograde_preprocessors={qualified_name(step)}" for step in steps] + [
        f"--GradingExecute.source_notebook={source_notebook}",
        f"--GradingExecute.handed_in_notebook={handed_in_notebook}",
        f"--GradingExecute.failure_file={failure_file}",
    ]
