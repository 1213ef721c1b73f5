"""nbgrader's Execute step, made to record the exception it gives up with; the autograde steps the grader runs.

When a kernel dies or a cell cannot be interrupted, nbgrader logs the exception, deletes the half-graded
notebook and exits 1: nothing it leaves but its log says which happened. Its autograde steps are a
configurable list (Autograde.autograde_preprocessors), so the grader runs `nbgrader autograde` with
`autograde_options`, which put RecordingExecute in Execute's place; RecordingExecute writes the
exception's classes to a file before nbgrader handles the exception as usual. The same options add, after
LimitOutput and before the scores are saved: UnscoredStderr, a graded cell's warnings shown, not scored
(stderr_output.py); LimitOutputBytes, outputs bounded in bytes; NoPartialCredit, a test cell scoring all or nothing
(output_rules.py).
"""

import json
from dataclasses import dataclass
from pathlib import Path

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


class RecordingExecute(Execute):
    """nbgrader's Execute step, writing the exception it raises to `failure_file` first."""

    failure_file = Unicode(help="where to record, as JSON, the exception that ended the notebook's run").tag(
        config=True
    )

    def preprocess(self, *args, **kwargs):
        try:
            return super().preprocess(*args, **kwargs)
        except Exception as error:
            ExecuteFailure.of(error).write(self.failure_file)
            raise


def autograde_options(failure_file):
    """`nbgrader autograde` options: nbgrader's own autograde steps with RecordingExecute in Execute's place,
    and after LimitOutput, before the scores are saved, UnscoredStderr, LimitOutputBytes and NoPartialCredit.

    LimitOutputBytes follows UnscoredStderr so that its budgets hold for the outputs as saved.
    """
    steps = []
    for step in Autograde.class_traits()["autograde_preprocessors"].default():
        steps.append(RecordingExecute if step is Execute else step)
        if step is LimitOutput:
            steps += [UnscoredStderr, LimitOutputBytes, NoPartialCredit]
    return [f"--Autograde.autograde_preprocessors={qualified_name(step)}" for step in steps] + [
        f"--RecordingExecute.failure_file={failure_file}"
    ]
