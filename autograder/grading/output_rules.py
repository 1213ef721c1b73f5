"""Two rules on a graded notebook's outputs, as autograde steps that execute_step.autograde_options places after
UnscoredStderr and before SaveAutoGrades, which scores and stores the notebook.

- Outputs are bounded in bytes (LimitOutputBytes). nbgrader's LimitOutput counts lines, so a 30 MB print of a few
  lines went whole into the graded notebook, the gradebook and a 48 MB feedback page. Here each output, each code
  cell and the whole notebook get a budget; what is cut says so ("... output truncated: N bytes more ...").
  Placed after UnscoredStderr, the budgets hold for the outputs as saved, stderr's HTML copy included.
- A test cell scores all or nothing (NoPartialCredit). nbgrader.utils.determine_grade reads a partial score from
  the first execute_result of a graded cell before it looks at the outputs after it: an answer that emits a
  result (sys.displayhook(2.0)) and then raises scored the points. The course's rule: a graded cell scores its
  full points when none of its outputs is an error, 0 when any is. Every execute_result of a graded cell becomes
  a display_data output with the same data, which determine_grade never scores, so it always reaches the error.
  Validate agrees for results a cell shows by ending in an expression (see nbgrader_config.py).
"""

import json

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Integer

# What is left of an error past its cell's budget: enough for its name and the start of its message.
KEPT_ERROR_BYTES = 1_000


class LimitOutputBytes(NbGraderPreprocessor):
    """The autograde step: each code cell's outputs cut to the byte budgets, an error never dropped.

    The defaults are about twice what the course's lessons need: their largest output, a figure, is 230 KB, and
    a whole lesson's outputs are under 400 KB.
    """

    max_output_bytes = Integer(512 * 1024, help="the most bytes one output keeps").tag(config=True)
    max_cell_bytes = Integer(1024 * 1024, help="the most bytes a code cell's outputs keep").tag(config=True)
    max_notebook_bytes = Integer(4 * 1024 * 1024, help="the most bytes the notebook's outputs keep").tag(config=True)

    def preprocess(self, nb, resources):
        self._notebook_budget = self.max_notebook_bytes
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            cell.outputs = self._bounded(cell.outputs)
        return cell, resources

    def _bounded(self, outputs):
        """`outputs`, each cut to max_output_bytes, kept in order while they fit in the cell's and the notebook's
        budgets; those left out are replaced by a note at the end. The cell's first error is always kept (cut to
        KEPT_ERROR_BYTES if need be): dropping it would turn a failed test into a passed one.
        """
        budget = min(self.max_cell_bytes, self._notebook_budget)
        kept, left_out, error_kept = [], 0, False
        for output in outputs:
            output = _cut_output(output, self.max_output_bytes)
            size = _output_bytes(output)
            if not left_out and size <= budget:
                budget -= size
                self._notebook_budget -= size
            elif output.output_type == "error" and not error_kept:
                output = _cut_output(output, KEPT_ERROR_BYTES)
            else:
                left_out += size
                continue
            kept.append(output)
            error_kept = error_kept or output.output_type == "error"
        if left_out:
            kept.append(new_output("stream", name="stdout", text=_truncation_note(left_out) + "\n"))
        return kept


class NoPartialCredit(NbGraderPreprocessor):
    """The autograde step: a graded cell's execute_result outputs shown as display_data, never read as a score."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_grade(cell):
            cell.outputs = [_as_display_data(output) for output in cell.outputs]
        return cell, resources


def _as_display_data(output):
    if output.output_type != "execute_result":
        return output
    return new_output("display_data", data=output.data, metadata=output.metadata)


def _output_bytes(output):
    """About the bytes `output` takes in the notebook file (nbformat writes JSON, UTF-8)."""
    return len(_utf8(json.dumps(output, ensure_ascii=False)))


def _truncation_note(left_out):
    return f"... output truncated: {left_out} bytes more ..."


def _cut_output(output, limit):
    """`output` as it is if it fits in `limit` bytes, else a copy cut to about that, saying how much was cut.

    A stream keeps the start of its text. An error keeps its name, the start of its message and of its traceback
    (they share the limit), and stays an error. A rich output (display_data, execute_result) keeps the start of
    its plain text only: an image or markup cut short would be broken, so its other representations are dropped.
    """
    size = _output_bytes(output)
    if size <= limit:
        return output
    if output.output_type == "stream":
        return new_output("stream", name=output.name, text=_cut_text(output.text, limit))
    if output.output_type == "error":
        return new_output(
            "error",
            ename=_cut_text(output.ename, limit // 4),
            evalue=_cut_text(output.evalue, limit // 4),
            traceback=_cut_lines(output.traceback, limit // 2),
        )
    plain = _cut_text(output.data.get("text/plain", ""), limit, size)
    if output.output_type == "execute_result":
        return new_output("execute_result", data={"text/plain": plain}, execution_count=output.execution_count)
    return new_output(output.output_type, data={"text/plain": plain})


def _cut_text(text, limit, whole=None):
    """The first `limit` bytes of `text`, then a note of the bytes left out of `whole` (by default, of `text`);
    `text` as it is when nothing is left out."""
    encoded = _utf8(text)
    kept = encoded[:limit].decode(errors="ignore")  # a character cut in two is dropped
    left_out = (len(encoded) if whole is None else whole) - len(_utf8(kept))
    return f"{kept}\n{_truncation_note(left_out)}\n" if left_out > 0 else text


def _cut_lines(lines, limit):
    """`lines` (a traceback) kept whole while they fit in `limit` bytes; the rest cut as one text."""
    kept = []
    for index, line in enumerate(lines):
        if len(_utf8(line)) > limit:
            return kept + [_cut_text("\n".join(lines[index:]), limit)]
        kept.append(line)
        limit -= len(_utf8(line))
    return kept


def _utf8(text):
    # A kernel may send lone surrogates, which strict UTF-8 cannot encode.
    return text.encode(errors="surrogatepass")
