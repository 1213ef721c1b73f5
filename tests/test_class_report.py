"""The class report (autograder/grading/class_report.py) says what grades.csv says, and survives any class.

Each test builds rows as the pipeline leaves them, writes grades.csv with report.write_csv and report.html
with write_class_report, reads the page back with html.parser and compares its numbers with what the test
computes on its own from the CSV read back with the csv module.
"""

import csv
import random
import re
import statistics
from collections import Counter, defaultdict
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from matplotlib.text import Text

from autograder.grading import class_report
from autograder.grading.class_report import write_class_report
from autograder.grading.manual_grading import GradedCell
from autograder.grading.records import Row
from autograder.grading.report import write_csv, write_report
from autograder.grading.status import (
    AUTOGRADED,
    ERROR,
    GRADED,
    INVALID,
    KERNEL_DIED,
    MISSING,
    NEEDS_MANUAL_GRADING,
    STATUSES,
    TIMED_OUT,
)
from plot_accessibility import problems as accessibility_problems

LESSON_CELLS = {
    "01_momentum": [
        GradedCell("01_momentum_gd_step", 2.0, False),
        GradedCell("01_momentum_heavy_ball", 3.0, False),
        GradedCell("01_momentum_predict", 2.0, True),
    ],
    "02_adaptive": [GradedCell("02_adaptive_adamw", 4.0, False), GradedCell("02_adaptive_explain", 1.0, True)],
}
# A description with full stops inside, and one with markup: the sentence ends the message, whatever it holds.
MISTAKES = ("forget the bias", "use 0.9·v instead of v (β = 0.9, as in torch.optim.SGD)", "return <b>None</b>")
HOSTILE_STUDENT = '<script>alert("id")</script>'
# A test's message is the student's to write: `raise AssertionError(...)` in an answer names any "mistake".
HOSTILE_MISTAKE = "<script>alert(1)</script>"
HOSTILE_FAILURE = f"01_momentum_gd_step: AssertionError: x. That is what you get if you {HOSTILE_MISTAKE}."
OTHER_STATUSES = (TIMED_OUT, KERNEL_DIED, INVALID, MISSING, ERROR)


def graded_row(rng, student, lesson, waiting, cells):
    """A row nbgrader ran, with random half-point cell scores; `waiting`: its written answers have no score yet."""
    scores = {cell.grade_id: rng.choice([0.0, cell.points / 2, cell.points, cell.points]) for cell in cells}
    pending = [cell.grade_id for cell in cells if cell.by_hand and waiting]
    failures = []
    for cell in cells:
        if not cell.by_hand and scores[cell.grade_id] < cell.points:
            named = rng.random() < 0.7
            hint = f" That is what you get if you {rng.choice(MISTAKES)}." if named else ""
            failures.append(f"{cell.grade_id}: AssertionError: the update differs at step 3: 1.5 instead of 2.{hint}")
    auto = sum(scores[cell.grade_id] for cell in cells if not cell.by_hand)
    manual = None if pending else sum(scores[cell.grade_id] for cell in cells if cell.by_hand)
    return Row(
        student,
        lesson,
        NEEDS_MANUAL_GRADING if pending else GRADED,
        score=None if pending else auto + manual,
        max_score=sum(cell.points for cell in cells),
        auto_score=auto,
        auto_max_score=sum(cell.points for cell in cells if not cell.by_hand),
        manual_score=manual,
        manual_max_score=sum(cell.points for cell in cells if cell.by_hand),
        manual_pending=pending,
        cell_scores={grade_id: "" if grade_id in pending else score for grade_id, score in scores.items()},
        failures=failures,
        flags=["reads the hidden tests' file"] if rng.random() < 0.1 else [],
        seconds=rng.uniform(5, 60),
        regraded=rng.random() < 0.8,
    )


def synthetic_class(student_count, lesson_cells=LESSON_CELLS, seed=0):
    """Rows for every student and lesson: mostly graded, some waiting for a manual score, some of every other status."""
    rng = random.Random(seed)
    rows = []
    for number in range(student_count):
        student = f"student{number:03d}"
        for lesson in lesson_cells:
            draw = rng.random()
            if draw < 0.65:
                rows.append(graded_row(rng, student, lesson, False, lesson_cells[lesson]))
            elif draw < 0.8:
                rows.append(graded_row(rng, student, lesson, True, lesson_cells[lesson]))
            else:
                status = rng.choice(OTHER_STATUSES)
                rows.append(
                    Row(
                        student,
                        lesson,
                        status,
                        detail=f"{status} & more",
                        max_score=sum(cell.points for cell in lesson_cells[lesson]),
                        seconds=rng.uniform(1, 600),
                        regraded=rng.random() < 0.5,
                    )
                )
    return rows


class Page(HTMLParser):
    """What a test reads from report.html: its tables by id, its images, every tag it saw and its text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tables, self.images, self.tags, self.ids, self.text = {}, [], Counter(), Counter(), []
        self.row_headers_without_scope = 0
        self._table = self._row = self._cell = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] += 1
        if "id" in attrs:
            self.ids[attrs["id"]] += 1
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self.row_headers_without_scope += tag == "th" and "scope" not in attrs
            self._cell = {"text": "", "value": attrs.get("data-value"), "names": []}
            self._row.append(self._cell)
        elif tag == "li" and self._cell is not None:
            self._cell["names"].append("")
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data
            if self._cell["names"]:
                self._cell["names"][-1] += data

    def body(self, table_id):
        """The table's rows below its header row, each a list of cells."""
        return self.tables[table_id][1:]

    def values(self, table_id):
        """{first column's text: [each other cell's data-value as a float, or None]}."""
        return {
            row[0]["text"]: [None if cell["value"] is None else float(cell["value"]) for cell in row[1:]]
            for row in self.body(table_id)
        }


def read_csv(path):
    with open(path, newline="") as csv_file:
        return list(csv.DictReader(csv_file))


def write_both(tmp_path, rows, lesson_cells=LESSON_CELLS, problems=()):
    write_csv(rows, tmp_path / "grades.csv", [cell.grade_id for cells in lesson_cells.values() for cell in cells])
    write_class_report(tmp_path, rows, lesson_cells, list(problems))
    return read_csv(tmp_path / "grades.csv"), Page((tmp_path / "report.html").read_text(encoding="utf-8"))


@pytest.fixture
def figures(monkeypatch):
    """Every matplotlib Figure the report saves, kept for the accessibility check."""
    saved = []
    save = class_report._save

    def keep(figure, path):
        saved.append(figure)
        save(figure, path)

    monkeypatch.setattr(class_report, "_save", keep)
    return saved


def named(failure):
    """The mistake a failure names, read as an instructor would: the words after the catalogue's sentence."""
    found = re.search(r"That is what you get if you (.*)\.$", failure)
    return found[1] if found else class_report.NO_NAMED_MISTAKE


def test_the_report_says_what_grades_csv_says(tmp_path, figures):
    rows = synthetic_class(40)
    rows[0].student = HOSTILE_STUDENT
    rows[0].flags = ["ran <script>evil()</script> & left"]
    graded = next(row for row in rows if row.status == GRADED and row.lesson == "01_momentum")
    graded.failures.append(HOSTILE_FAILURE)
    csv_rows, page = write_both(tmp_path, rows, problems=["stray <file>.txt: not a lesson"])
    autograded = [row for row in csv_rows if row["status"] in AUTOGRADED]

    assert page.values("status-counts") == {
        status: [sum(row["status"] == status for row in csv_rows)] for status in STATUSES
    }
    for lesson, cells in LESSON_CELLS.items():
        lesson_rows = [row for row in autograded if row["lesson"] == lesson]
        waiting = any(row["score"] == "" for row in lesson_rows)
        assert waiting, "the synthetic class has written answers waiting in every lesson"
        scores = [float(row["auto_score"]) for row in lesson_rows]
        [(scored_on, [count, mean, median, low, high, out_of])] = page.values(f"scores-{lesson}").items()
        assert scored_on == "automatic part"
        assert (count, out_of) == (len(lesson_rows), sum(float(row["auto_max_score"]) for row in lesson_rows[:1]))
        assert (mean, median, low, high) == pytest.approx(
            (statistics.mean(scores), statistics.median(scores), min(scores), max(scores))
        )
        assert sum(page.values(f"score-bins-{lesson}")["submissions"]) == len(lesson_rows)

        exercises = page.values(f"exercises-{lesson}")
        assert list(exercises) == [cell.grade_id for cell in cells]
        for cell in cells:
            values = [row[cell.grade_id] for row in lesson_rows]
            scored = [float(value) for value in values if value != ""]
            _, points, scored_count, mean, full, pending = exercises[cell.grade_id]
            assert (points, scored_count, full, pending) == (
                cell.points,
                len(scored),
                sum(score == cell.points for score in scored),
                values.count(""),
            )
            assert mean == (pytest.approx(statistics.mean(scored) / cell.points) if scored else None)

    expected_mistakes, expected_students = Counter(), defaultdict(set)
    for row in csv_rows:
        for failure in filter(None, row["failures"].split(" | ")):
            key = (named(failure), failure.split(": ")[0], row["lesson"])
            expected_mistakes[key] += 1
            expected_students[key].add(row["student"])
    mistakes = page.body("mistake-counts")
    found = {tuple(cell["text"] for cell in row[:3]): int(row[3]["value"]) for row in mistakes}
    assert found == dict(expected_mistakes)
    assert {tuple(cell["text"] for cell in row[:3]): set(row[4]["names"]) for row in mistakes} == expected_students
    counts = [int(row[3]["value"]) for row in mistakes]
    assert counts == sorted(counts, reverse=True)
    assert {mistake for mistake, _, _ in found} >= {*MISTAKES, class_report.NO_NAMED_MISTAKE}

    assert {(row[0]["text"], row[1]["text"], "; ".join(row[3]["names"])) for row in page.body("flagged")} == {
        (row["student"], row["lesson"], row["flags"]) for row in csv_rows if row["flags"]
    }
    for status in OTHER_STATUSES:
        concerned = {(row["student"], row["lesson"], row["detail"]) for row in csv_rows if row["status"] == status}
        listed = page.tables.get(f"status-{status.replace(' ', '-')}", [None])[1:]
        assert {tuple(cell["text"] for cell in row) for row in listed} == concerned
    pending = {row[0]["text"]: row for row in page.body("pending-by-lesson")}
    for lesson in LESSON_CELLS:
        waiting = [row for row in csv_rows if row["lesson"] == lesson and row["manual_pending"]]
        assert int(pending[lesson][1]["value"]) == len(waiting)
        assert pending[lesson][3]["names"] == [row["student"] for row in waiting]
        cells = Counter(grade_id for row in waiting for grade_id in row["manual_pending"].split())
        assert pending[lesson][2]["names"] == [f"{grade_id} ({count})" for grade_id, count in cells.items()]

    # Seconds and the cache are not in grades.csv: the rows are the only source.
    seconds = [row.seconds for row in rows if row.regraded and row.status in AUTOGRADED]
    [(count, [mean, median, longest, reused])] = page.values("grading-time").items()
    assert (int(count), reused) == (len(seconds), sum(not row.regraded for row in rows))
    assert (mean, median, longest) == pytest.approx(
        (statistics.mean(seconds), statistics.median(seconds), max(seconds))
    )

    assert page.body("flagged")[0][0]["text"] == HOSTILE_STUDENT
    assert ["ran <script>evil()</script> & left"] == page.body("flagged")[0][3]["names"]
    assert HOSTILE_MISTAKE in {row[0]["text"] for row in mistakes}
    assert "stray <file>.txt: not a lesson" in "".join(page.text)
    assert page.tags["script"] == 0 and page.tags["b"] == 0, "student text and descriptions come out escaped"
    assert page.row_headers_without_scope == 0
    assert max(page.ids.values()) == 1, "ids are unique"

    pictures = sorted((tmp_path / "report").iterdir())
    assert [image["src"] for image in page.images] == [
        *(f"report/{kind}_{lesson}.png" for lesson in LESSON_CELLS for kind in ("scores", "exercises")),
        "report/grading_time.png",
    ]
    assert sorted(image["src"] for image in page.images) == [f"report/{path.name}" for path in pictures]
    assert all(path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for path in pictures)
    assert all(len(image["alt"]) > 40 and re.search(r"\d", image["alt"]) for image in page.images)
    assert len(figures) == len(pictures)
    for figure in figures:
        assert accessibility_problems(figure) == []
        assert all(text.get_fontsize() >= 9 for text in figure.findobj(Text) if text.get_text().strip())


def test_a_lesson_without_waiting_answers_shows_final_scores(tmp_path, figures):
    rows = [
        graded_row(random.Random(seed), f"s{seed}", "02_adaptive", False, LESSON_CELLS["02_adaptive"])
        for seed in range(5)
    ]
    csv_rows, page = write_both(tmp_path, rows, {"02_adaptive": LESSON_CELLS["02_adaptive"]})
    scores = [float(row["score"]) for row in csv_rows]
    [(scored_on, [count, mean, *_, out_of])] = page.values("scores-02_adaptive").items()
    assert (scored_on, count, out_of) == ("final score", 5, 5.0)
    assert mean == pytest.approx(statistics.mean(scores))
    assert "pending-by-lesson" not in page.tables


@pytest.mark.parametrize(
    "rows, lesson_cells",
    [
        pytest.param([], {}, id="empty class"),
        pytest.param([], LESSON_CELLS, id="lessons without a submission"),
        pytest.param(
            [Row("a", "01_momentum", MISSING, detail="no 01_momentum.ipynb from a", max_score=7.0, seconds=0.0)],
            LESSON_CELLS,
            id="nobody autograded",
        ),
        pytest.param(
            [
                Row(
                    "a",
                    "essay",
                    NEEDS_MANUAL_GRADING,
                    score=None,
                    manual_score=None,
                    max_score=3.0,
                    manual_max_score=3.0,
                    manual_pending=["essay_answer"],
                    cell_scores={"essay_answer": ""},
                    regraded=False,
                )
            ],
            {"essay": [GradedCell("essay_answer", 3.0, True)]},
            id="only written answers, all waiting",
        ),
    ],
)
def test_any_class_gets_a_report(tmp_path, figures, rows, lesson_cells):
    write_report(SimpleNamespace(out=tmp_path, unsafe=False), rows, lesson_cells, [])
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert page.values("status-counts") == {status: [sum(row.status == status for row in rows)] for status in STATUSES}
    for lesson in lesson_cells:
        autograded = [row for row in rows if row.lesson == lesson and row.status in AUTOGRADED]
        [(_, [count, *spread, _])] = page.values(f"scores-{lesson}").items()
        assert count == len(autograded)
        assert (spread == [None] * 4) == (not autograded)
        assert set(page.values(f"exercises-{lesson}")) == {cell.grade_id for cell in lesson_cells[lesson]}
    assert page.values("grading-time") == {"0": [None, None, None, sum(not row.regraded for row in rows)]}
    pictures = sorted(f"report/{path.name}" for path in (tmp_path / "report").iterdir())
    assert sorted(image["src"] for image in page.images) == pictures
    assert all(accessibility_problems(figure) == [] for figure in figures)
