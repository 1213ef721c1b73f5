"""What a hostile notebook can do to its grade and its feedback page, and what stops it.

- Outputs are bounded in bytes, per output, per cell and per notebook, and an error is never dropped
  (LimitOutputBytes, autograder/grading/output_rules.py).
- A test cell scores all or nothing: a result shown before an error is never read as a score (NoPartialCredit).
- The feedback page carries nothing active from the notebook (FeedbackExporter, autograder/grading/feedback.py),
  renders an over-long markdown cell as plain text, and falls back to a plain page when nbgrader runs out of time.
The preprocessors and the exporter are checked on notebooks made here, in milliseconds; one toy class is graded end
to end, with the feedback page written in process both ways.
"""

import json
import re
import time

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import determine_grade
from nbgrader.validator import Validator
from test_grading import grade, submit

from autograder.build import build_lessons, load_nbgrader_config
from autograder.grading import feedback
from autograder.grading.execute_step import autograde_options
from autograder.grading.feedback import FeedbackExporter, fallback_page, write_feedback
from autograder.grading.gradebook import make_gradebook_tool_findable
from autograder.grading.output_rules import LimitOutputBytes, NoPartialCredit
from autograder.grading.records import GradingRun, Submission
from fixtures.courses import fill_in, make_toy_course, toy_solution

NOTE = re.compile(r"\.\.\. output truncated: (\d+) bytes more \.\.\.")


def size(output):
    return len(json.dumps(output, ensure_ascii=False).encode())


def stdout(text):
    return new_output("stream", name="stdout", text=text)


def error(evalue="", traceback=()):
    return new_output("error", ename="ValueError", evalue=evalue, traceback=list(traceback))


def result(text):
    return new_output("execute_result", data={"text/plain": text}, execution_count=1)


def test_each_output_is_cut_to_its_byte_limit():
    big_print = stdout("x" * 5000)
    figure = new_output("display_data", data={"image/png": "i" * 5000, "text/plain": "<Figure>"})
    long_error = error("e" * 5000, [f"line {index}: " + "t" * 100 for index in range(100)])
    notebook = new_notebook(cells=[new_code_cell("", outputs=[big_print, figure, long_error])])

    LimitOutputBytes(max_output_bytes=1000).preprocess(notebook, {})

    printed, shown, raised = notebook.cells[0].outputs
    assert all(size(output) < 1200 for output in (printed, shown, raised))
    assert printed.text.startswith("x" * 1000) and int(NOTE.search(printed.text)[1]) == 4000
    assert shown.data == {"text/plain": shown.data["text/plain"]}, "the image, which cannot be cut, is left out"
    assert shown.data["text/plain"].startswith("<Figure>") and NOTE.search(shown.data["text/plain"])
    assert (raised.output_type, raised.ename) == ("error", "ValueError")
    assert raised.traceback[0] == long_error.traceback[0] and NOTE.search(raised.traceback[-1])
    assert raised.evalue.startswith("e" * 250) and NOTE.search(raised.evalue)


def test_a_cell_keeps_its_outputs_while_they_fit_and_always_its_first_error():
    prints = [stdout("a" * 500) for _ in range(5)]
    assert 500 < size(prints[0]) < 600
    first, later = error("the test failed"), error("another")
    notebook = new_notebook(cells=[new_code_cell("", outputs=[*prints, first, later]), new_code_cell("")])
    notebook.cells[1].outputs = [stdout("b" * 500) for _ in range(3)]

    LimitOutputBytes(max_output_bytes=1000, max_cell_bytes=2000, max_notebook_bytes=3000).preprocess(notebook, {})

    cell = notebook.cells[0].outputs
    assert [output.output_type for output in cell] == ["stream"] * 3 + ["error", "stream"]
    assert cell[3] == first, "an error past the budget is kept: dropping it would pass a failed test"
    assert int(NOTE.fullmatch(cell[4].text.strip())[1]) == 2 * size(prints[0]) + size(later)
    # The notebook's budget has 3000 - 3 * 550 bytes left: two of the next cell's three prints.
    assert [output.text[0] for output in notebook.cells[1].outputs] == ["b", "b", "."]


@pytest.mark.parametrize(
    ("outputs", "score"),
    [
        ([result("3"), error()], 0),  # nbgrader raised: "partial credit cannot be greater than maximum points"
        ([result("2.0"), error()], 0),  # nbgrader gave the full 2 points
        ([result("1.0")], 2),  # nbgrader gave 1 point of 2
        ([stdout("1.0\n"), result("True")], 2),
    ],
)
def test_a_test_cell_scores_all_or_nothing(outputs, score):
    notebook = toy_solution("toy_a")
    tested, answer = notebook.cells[4], notebook.cells[3]  # the cube test cell (2 points) and its answer cell
    tested.outputs, answer.outputs = outputs, [result("1.0")]

    NoPartialCredit().preprocess(notebook, {})

    assert determine_grade(tested) == (score, 2)
    assert "execute_result" not in [output.output_type for output in tested.outputs]
    assert [output.get("data") for output in tested.outputs] == [output.get("data") for output in outputs]
    assert answer.outputs == [result("1.0")], "a cell that is not graded keeps its result"


def test_output_rules_run_after_unscored_stderr_before_the_scores_are_saved(tmp_path):
    options = autograde_options(tmp_path / "failure.json", "source.ipynb", "handed_in.ipynb")
    steps = [option.partition("=")[2] for option in options if option.startswith("--Autograde.")]
    limit = steps.index("nbgrader.preprocessors.limitoutput.LimitOutput")
    assert steps[limit + 1 : limit + 5] == [
        "autograder.grading.stderr_output.UnscoredStderr",
        "autograder.grading.output_rules.LimitOutputBytes",
        "autograder.grading.output_rules.NoPartialCredit",
        "nbgrader.preprocessors.saveautogrades.SaveAutoGrades",
    ]


HOSTILE_MARKDOWN = (
    "# Answer\n"
    "Some **bold** text and math: $x^2 < y$.\n\n"
    '<script>alert("markdown")</script>\n\n'
    "<img src=x onerror=alert(1)> "
    '<a href="javascript:alert(2)">a link</a> <a href=" JaVa&#09;ScRiPt:alert(3)">another</a> '
    "[md link](javascript:alert(4)) "
    '<iframe src="https://example.com"></iframe> <object data="x"></object> <embed src="x"> '
    '<form action="https://example.com"><input name="q"></form> <svg onload="alert(5)"></svg> '
    "<style>body { display: none }</style>\n"
)


def hostile_outputs():
    """Outputs a student's code can show: each a way to run script in the page, and two ordinary ones."""
    return [
        stdout("printed <b>as text</b>\n"),
        new_output("display_data", data={"text/html": '<b>html</b><script>alert(6)</script><img src=x onerror="a()">'}),
        new_output("display_data", data={"application/javascript": "alert(7)", "text/plain": "<Javascript object>"}),
        new_output("display_data", data={"image/svg+xml": "<svg><script>alert(8)</script></svg>", "text/plain": "s"}),
        new_output("display_data", data={"text/markdown": "*markdown out* <script>alert(9)</script>"}),
        new_output("display_data", data={"image/png": "iVBORw0KGgo="}, metadata={"width": "1 onerror=alert(10)"}),
        new_output("display_data", data={"text/html": "<p>isolated</p>"}, metadata={"text/html": {"isolated": True}}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}),
        result("42"),
    ]


def assert_inert(page, own_scripts):
    """Nothing in the HTML `page` can run but the scripts `own_scripts` accepts (a test on a <script> tag)."""
    soup = BeautifulSoup(page, "html.parser")
    assert all(own_scripts(script) for script in soup.find_all("script"))
    assert soup.find_all(["iframe", "object", "embed", "form", "input", "svg", "base"]) == []
    for tag in soup.find_all(True):
        assert not [name for name in tag.attrs if name.lower().startswith("on")], tag
        for name in ("href", "src", "action", "data"):
            value = "".join(str(tag.get(name, "")).split()).lower()
            assert not value.startswith(("javascript:", "data:text", "data:image/svg")), tag


def mathjax_scripts(script):
    return script.get("src", "").startswith("https://cdnjs.cloudflare.com/ajax/libs/mathjax/") or (
        script.get("type") == "text/x-mathjax-config"
    )


def render(notebook):
    """The feedback page of `notebook`, as nbgrader's generate_feedback renders it with FeedbackExporter."""
    converter = GenerateFeedback(coursedir=CourseDirectory())  # sets the exporter's template
    exporter = FeedbackExporter(parent=converter, config=converter.config)
    resources = {"nbgrader": {"notebook": "toy_a", "score": 1, "max_score": 3, "late_penalty": 0}}
    return exporter.from_notebook_node(notebook, resources=resources)[0]


def test_feedback_page_carries_nothing_active_from_the_notebook():
    notebook = new_notebook(
        cells=[new_markdown_cell(HOSTILE_MARKDOWN), new_code_cell("print('hi')", outputs=hostile_outputs())]
    )
    # What a hostile kernel's replies could make of the execution counts, which the template writes as they are.
    notebook.cells[1].execution_count = "<img src=x onerror=alert(11)>"
    notebook.cells[1].outputs[-1].execution_count = "<script>alert(12)</script>"

    page = render(notebook)

    assert_inert(page, mathjax_scripts)
    body = BeautifulSoup(page, "html.parser").find(id="notebook-container")
    assert all(quoted in body.get_text() for quoted in ('alert("markdown")', "alert(6)", "alert(9)")), (
        "markup taken out is shown as text"
    )
    # The notebook's ordinary content still shows, as the student wrote it.
    assert body.find("h1", id="Answer") and body.find("strong").text == "bold"
    assert "$x^2 &lt; y$" in str(body), "math is left to MathJax"
    assert "printed <b>as text</b>" in body.get_text() and body.find("b", string="html")
    assert body.find("em", string="markdown out") and "<Javascript object>" in body.get_text()
    assert body.find("img", src="data:image/png;base64,iVBORw0KGgo=") and "42" in body.get_text()


def test_an_over_long_markdown_cell_is_shown_as_plain_text_at_once():
    # Rendered, this would take time quadratic in its length: 40 KB of it took 40 s, these 150 KB about ten minutes.
    crafted = "#\n" * 75_000
    notebook = new_notebook(cells=[new_markdown_cell(crafted), new_markdown_cell("*short* stays markdown")])

    started = time.monotonic()
    page = render(notebook)

    assert time.monotonic() - started < 15
    body = BeautifulSoup(page, "html.parser").find(id="notebook-container")
    assert body.find("pre", string=crafted) and body.find("em", string="short")


def test_fallback_page_escapes_everything():
    notebook = new_notebook(cells=[new_markdown_cell(HOSTILE_MARKDOWN), toy_solution("toy_a").cells[2]])
    notebook.cells[1].outputs = [*hostile_outputs(), error("x", ["\x1b[31m<script>alert(13)</script>\x1b[0m"])]
    notebook.cells[1].outputs.append(stdout("y" * 30_000))
    cells = {"toy_a_square": (1.0, 1.0, "<script>alert(14)</script>")}

    page = fallback_page("toy_a", notebook, cells, (1.0, 3.0), "took longer than 60 s")

    soup = BeautifulSoup(page, "html.parser")
    assert {tag.name for tag in soup.find_all(True)} <= {"html", "head", "meta", "title", "body", "h1", "h2"} | {
        "p",
        "strong",
        "hr",
        "pre",
    }
    assert all(tag.attrs == {} for tag in soup.find_all(True) if tag.name != "meta")
    text = soup.get_text()
    assert "took longer than 60 s" in text and "toy_a (Score: 1 / 3)" in text and "toy_a_square: score 1 / 1" in text
    assert '<script>alert("markdown")</script>' in text and "<script>alert(13)</script>" in text
    assert "alert(14)" in text and "[application/vnd.jupyter.widget-view+json: not shown]" in text
    assert f"... {30_000 - feedback.MAX_FALLBACK_TEXT} characters more ..." in text


# The cube answer shows a result before it raises: nbgrader read it as a score of 2.0, the cell's full points.
SHOWS_A_SCORE = {
    "toy_a_cube_answer": [("return x ** 3", 'import sys\n    sys.displayhook(2.0)\n    raise ValueError("blank")')]
}


@pytest.mark.slow
def test_hostile_submission_graded_and_its_feedback_page_written(tmp_path, monkeypatch):
    course, submissions, out = tmp_path / "course", tmp_path / "submissions", tmp_path / "out"
    make_toy_course(course, ["toy_a"])
    build_lessons(["toy_a"], course)
    lesson = nbformat.read(course / "lessons" / "toy_a" / "toy_a.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / "toy_a" / "toy_a.ipynb", as_version=4)
    notebook = fill_in(lesson, solution, SHOWS_A_SCORE)
    shows = (
        "from IPython.display import HTML, SVG, Javascript, display\n"
        "display(HTML('<b>html</b><script>alert(6)</script>'), Javascript('alert(7)'))\n"
        "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(8)</script></svg>'))\n"
        "print('x' * 2_000_000)"
    )
    notebook.cells += [new_markdown_cell(HOSTILE_MARKDOWN), new_code_cell(shows)]
    submit(submissions, "mallory", "toy_a", notebook)

    rows, _ = grade(submissions, out, course_root=course)

    row = rows["mallory", "toy_a"]
    assert (row["status"], row["toy_a_square"], row["toy_a_cube"]) == ("graded", "1", "0")
    graded = nbformat.read(out / "nbgrader" / "autograded" / "mallory" / "toy_a" / "toy_a.ipynb", as_version=4)
    cube_test = next(cell for cell in graded.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "toy_a_cube")
    assert [output.output_type for output in cube_test.outputs] == ["display_data", "error"]
    printed = graded.cells[-1].outputs[-1]
    assert size(printed) < 600_000 and NOTE.search(printed.text)

    run, submission = GradingRun(submissions, out, course_root=course), Submission("mallory", "toy_a", None, (), 3, "")
    make_gradebook_tool_findable()
    page = out / "feedback" / "mallory" / "toy_a" / "toy_a.html"
    assert write_feedback(run, submission)
    assert_inert(page.read_text(), mathjax_scripts)
    assert "output truncated" in page.read_text()

    monkeypatch.setattr(feedback, "FEEDBACK_WALL_LIMIT", 0.5)  # nbgrader does not even start in that time
    started = time.monotonic()
    assert write_feedback(run, submission)
    assert time.monotonic() - started < 15
    assert_inert(page.read_text(), lambda script: False)
    text = BeautifulSoup(page.read_text(), "html.parser").get_text()
    assert "took longer than 0.5 s" in text and "toy_a_cube: score 0 / 2" in text
    assert "toy_a (Score: 1 / 3)" in text


@pytest.mark.slow
@pytest.mark.parametrize(("last_line", "passes"), [("1.0", True), ('raise ValueError("cube gave up")', False)])
def test_validate_reads_no_score_from_a_result(tmp_path, last_line, passes):
    """nbgrader's Validate, with the course's settings, agrees with grading on a test cell ending in a number: nbgrader
    read it as a partial score (1 of the cube's 2 points), a failure; grading scores the cell in full."""
    notebook = toy_solution("toy_a")
    notebook.cells[4].source += f"\n{last_line}"
    nbformat.write(notebook, tmp_path / "toy_a.ipynb")
    result = Validator(config=load_nbgrader_config()).validate(str(tmp_path / "toy_a.ipynb"))
    assert ("failed" not in result) == passes, result
