"""The student's feedback page: nbgrader's generate_feedback, bounded in time, with nothing active from the notebook.

The page is opened by the student and by the instructor, and everything in the notebook is the student's: markdown,
outputs, metadata (a hostile kernel sends any output it likes). So:
- generate_feedback renders with FeedbackExporter: nbgrader's feedback template, with the notebook's markup passed
  through an allowlist (clean_notebook_html) that keeps formatting and drops scripts, event handlers, javascript:
  links, frames, objects, forms and styles. The page's own scripts (MathJax, loaded with its Safe extension) stay.
- Rendering markdown takes time quadratic in its length on crafted text (a 150 KB cell took two minutes; 40 KB of
  empty headings, "#\n", take 40 s, in nbconvert and in the cleaning alike): a markdown text over
  MAX_RENDERED_MARKDOWN characters is shown as plain text, and generate_feedback is stopped after
  FEEDBACK_WALL_LIMIT seconds. When it is stopped or fails, the student still gets a page: a plain one made here
  (fallback_page), every text escaped, with the scores and comments of the gradebook.
"""

import copy
import html
import shutil

import bleach
import nbformat
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters import strip_ansi
from nbgrader.api import MissingEntry
from traitlets import Bool

from autograder.grading.gradebook import open_gradebook
from autograder.grading.nbgrader_run import run_nbgrader

FEEDBACK_WALL_LIMIT = 60  # seconds; a lesson's page renders in a few
MAX_RENDERED_MARKDOWN = 10_000  # characters: 3 times the lessons' longest markdown cell; about 2 s at worst
MAX_FALLBACK_TEXT = 20_000  # characters of each source or output the fallback page shows

# Markup that formats and does nothing else: any other tag is shown as text, any other attribute dropped.
INERT_TAGS = {
    *("a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong"),
    *("sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
}
INERT_ATTRIBUTES = {
    "*": ["class", "id", "title"],
    "a": ["href"],
    "img": ["src", "alt", "width", "height"],
    "ol": ["start"],
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align"],
}
_CLEANER = bleach.Cleaner(tags=INERT_TAGS, attributes=INERT_ATTRIBUTES, protocols={"http", "https", "mailto"})
# The output formats the page shows, each escaped or cleaned by the template and the filters below.
SHOWN_OUTPUT_FORMATS = {"text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg"}


def write_feedback(run, submission, gradebook=None):
    """Write the student's HTML feedback page for the lesson, out/feedback/<student>/<lesson>/<lesson>.html;
    True if written.

    The scores and comments shown are those of `gradebook`: by default the submission's own, as autograding
    left it; the course's gradebook.db adds what the instructor entered in Formgrader. When nbgrader cannot render
    the page within FEEDBACK_WALL_LIMIT seconds, the fallback page takes its place; False only when there is no
    autograded notebook to show.
    """
    log = run.run_folder(submission) / "feedback.log"
    arguments = [
        "generate_feedback",
        submission.lesson,
        "--student",
        submission.student,
        "--force",
        f"--GenerateFeedback.exporter_class={FeedbackExporter.__module__}.{FeedbackExporter.__qualname__}",
    ]
    exit_status = run_nbgrader(run, submission, arguments, log, wall_limit=FEEDBACK_WALL_LIMIT, gradebook=gradebook)
    shutil.rmtree(run.feedback_folder(submission), ignore_errors=True)
    if exit_status == 0:
        rendered = run.course / "feedback" / submission.student / submission.lesson
        shutil.copytree(rendered, run.feedback_folder(submission))
        return True
    why = f"took longer than {FEEDBACK_WALL_LIMIT} s" if exit_status is None else "failed"
    print(f"warning: nbgrader generate_feedback {why} for {submission.student}, {submission.lesson}; see {log}")
    autograded = run.autograded_notebook(submission)
    if not autograded.is_file():
        return False
    cells, total = _gradebook_entries(gradebook or run.run_folder(submission) / "gradebook.db", submission)
    run.feedback_folder(submission).mkdir(parents=True)
    page = fallback_page(submission.lesson, nbformat.read(autograded, as_version=4), cells, total, why)
    (run.feedback_folder(submission) / f"{submission.lesson}.html").write_text(page)
    return True


def clean_notebook_html(markup):
    """`markup` with only INERT_TAGS and INERT_ATTRIBUTES left; links and images only to http(s) (and mailto)."""
    return _CLEANER.clean(markup)


class FeedbackExporter(HTMLExporter):
    """The exporter `generate_feedback` runs with: nbgrader's feedback page with nothing active from the notebook.

    nbconvert's own sanitizing (sanitize_html, always on here) leaves out scripts and widgets and cleans HTML outputs,
    but its allowlist shows ordinary markdown as escaped tags, and nbgrader's template renders markdown cells without
    it; this exporter cleans every rendered markdown and HTML with clean_notebook_html instead. What the template
    writes unescaped from the notebook itself is made inert first (`_inert`).
    """

    sanitize_html = Bool(True, help="always on: the notebook is the student's")  # not configurable

    @pass_context
    def markdown2html(self, context, source):
        if len(source) > MAX_RENDERED_MARKDOWN:
            return f"<pre>{html.escape(source)}</pre>"
        return clean_notebook_html(super().markdown2html(context, source))

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", clean_notebook_html)  # after nbconvert's own, which it replaces

    def from_notebook_node(self, nb, resources=None, **kw):
        return super().from_notebook_node(_inert(nb), resources, **kw)


def _inert(notebook):
    """A copy of `notebook` with what the templates write unescaped made harmless.

    Outputs keep SHOWN_OUTPUT_FORMATS only (no javascript, svg, widgets...) and no metadata (an image's width goes
    into an unquoted attribute); execution counts are numbers or nothing; nbgrader's template writes grade_id as is.
    """
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if "grade_id" in nbgrader:
            nbgrader["grade_id"] = html.escape(str(nbgrader["grade_id"]))
        if cell.cell_type != "code":
            continue
        cell.execution_count = _count(cell.get("execution_count"))
        for output in cell.outputs:
            if "data" in output:
                output.data = {kind: value for kind, value in output.data.items() if kind in SHOWN_OUTPUT_FORMATS}
                output.metadata = {}
            if "execution_count" in output:
                output.execution_count = _count(output.execution_count)
    return notebook


def _count(value):
    return value if type(value) is int else None


def _gradebook_entries(path, submission):
    """{grade_id: (score, max_score, comment)} of the submission's cells in the gradebook at `path`, and its total
    (score, max_score); ({}, None) if the gradebook does not hold the submission."""
    with open_gradebook(path) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(submission.lesson, submission.lesson, submission.student)
        except MissingEntry:
            return {}, None
        comments = {comment.name: comment.comment for comment in notebook.comments}
        cells = {grade.name: (grade.score, grade.max_score, comments.get(grade.name)) for grade in notebook.grades}
        cells.update({name: (None, None, comment) for name, comment in comments.items() if name not in cells})
        return cells, (notebook.score, notebook.max_score)


def fallback_page(lesson, notebook, cells, total, why):
    """A plain HTML page of `notebook`: each cell's source and outputs as escaped text, with the score and comment
    of its grade_id in `cells` and the `total` score (as _gradebook_entries gives them), under a line saying what
    became of the full page's rendering: `why` ("failed", "took longer than 60 s")."""
    parts = [
        f"<!DOCTYPE html>\n<html>\n<head><meta charset='utf-8'><title>{html.escape(lesson)}</title></head>\n<body>",
        f"<h1>{html.escape(lesson)}" + (f" (Score: {_score(*total)})" if total else "") + "</h1>",
        f"<p><strong>The full feedback page could not be rendered: its rendering {html.escape(why)}. This plain "
        "version shows the notebook as text.</strong></p>",
    ]
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        parts.append("<hr>")
        if grade_id in cells:
            score, max_score, comment = cells[grade_id]
            heading = html.escape(grade_id) + (f": score {_score(score, max_score)}" if max_score is not None else "")
            parts.append(f"<h2>{heading}</h2>")
            if comment:
                parts.append(f"<p>Comment:</p><pre>{_shown(comment)}</pre>")
        parts.append(f"<pre>{_shown(cell.source)}</pre>")
        parts += [f"<pre>{_shown(_output_text(output))}</pre>" for output in cell.get("outputs", [])]
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def _score(score, max_score):
    return f"{'?' if score is None else f'{score:g}'} / {max_score:g}"


def _output_text(output):
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return strip_ansi("\n".join(output.traceback)) or f"{output.ename}: {output.evalue}"
    data = output.get("data", {})
    return data.get("text/plain", f"[{', '.join(data)}: not shown]")


def _shown(text):
    """`text`, escaped for HTML, cut to MAX_FALLBACK_TEXT characters."""
    text = str(text)
    if len(text) > MAX_FALLBACK_TEXT:
        text = f"{text[:MAX_FALLBACK_TEXT]}\n... {len(text) - MAX_FALLBACK_TEXT} characters more ..."
    return html.escape(text)
