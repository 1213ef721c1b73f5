"""Warnings are shown, never scored: what a graded cell writes to stderr is feedback, not a failed test.

nbgrader gives a graded cell 0 when any of its outputs is an error or a stderr stream
(nbgrader.utils.determine_grade), so a correct answer that merely warns (torch's UserWarning for float() on a
tensor that requires grad, NumPy's RuntimeWarning, a tqdm progress bar) would lose the cell with no failed
test to show for it. The course's rule: only an error (an exception raised in the cell) fails a cell.

In grading, `UnscoredStderr`, an autograde step that execute_step.autograde_options places after LimitOutput
(nbclient has merged the cell's stderr into one output, LimitOutput has cut it to its lines) and before
SaveAutoGrades, which scores, turns each stderr stream output of a graded cell into a display_data output with
the same text: text/plain, and text/html marked up as nbconvert marks up stderr on the feedback page (class
output_stderr). nbgrader does not score display_data. Validate agrees through nbgrader_config.py (its kernel
writes stderr to stdout), since nbgrader's Validator runs a fixed list of steps.
"""

from nbconvert.filters import ansi2html
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade


class UnscoredStderr(NbGraderPreprocessor):
    """The autograde step: a graded cell's stderr shown in the feedback, not scored."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_grade(cell):
            cell.outputs = [_shown_unscored(output) if _is_stderr(output) else output for output in cell.outputs]
        return cell, resources


def _is_stderr(output):
    return output.output_type == "stream" and output.name == "stderr"


def _shown_unscored(stderr):
    """A display_data output showing the text of the `stderr` stream output, marked up as stderr."""
    # ansi2html escapes the text for HTML, as nbconvert's own stderr block does.
    html = f'<div class="output_stderr"><pre>{ansi2html(stderr.text)}</pre></div>'
    # The metadata tells, in the graded notebook, where the text came from.
    return new_output(
        "display_data",
        data={"text/plain": stderr.text, "text/html": html},
        metadata={"autograder": {"stream": "stderr"}},
    )
