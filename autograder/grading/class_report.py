"""The class report of a run: DIR/report.html, with its figures as PNG files in DIR/report/, for an instructor.

grades.csv holds every number; this page shows them the way a class is reviewed. One self-contained page
(inline CSS, no script, nothing fetched from the network) with:
- a header: when it was written, how many students, lessons and submissions, the count of each status, and the
  files not graded (those of unmapped.txt);
- per lesson, in course order: the distribution of the scores of the submissions nbgrader ran (status.AUTOGRADED),
  as a histogram and their count, mean, median, min and max; and per graded cell the mean fraction of its points,
  how many scored full marks and how many wait for a manual score. A lesson with a written answer still waiting
  for its score is shown on its automatic part (auto_score of auto_max_score) for everyone, as the summary in the
  terminal does: a partial final score would not compare;
- the mistakes the failed tests name (autograder/checks: "… That is what you get if you <mistake>."), most
  frequent first, with the students concerned; the failures of a cell that name none are counted together as
  "failed without a named mistake";
- the integrity flags to review; the submissions not graded (timed out, kernel died, invalid notebook, missing,
  error) with their detail; the written answers still waiting for a manual score; and how long the notebooks
  regraded in this run took.

Each figure's alt text states its key numbers, and every number is also in a table, whose cell carries the exact
value in `data-value` (for screen readers, and for tests/test_class_report.py to read back). Student ids, failure
messages, flags and details are the students' own text: all text goes through html.escape.
"""

import html
import shutil
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from typing import NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from autograder.grading.status import AUTOGRADED, GRADED, NEEDS_MANUAL_GRADING, STATUSES
from course import PALETTE

FIGURES = "report"  # the folder of the PNG files, next to report.html
MISTAKE_SENTENCE = " That is what you get if you "  # autograder/checks/compare.py: mistake_hint
NO_NAMED_MISTAKE = "failed without a named mistake"
# Explicit sizes rather than rcParams: the grading process may have set its own, and text stays >= 9 pt.
TITLE_PT, LABEL_PT, TICK_PT = 11, 10, 9

_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 1rem; line-height: 1.45; color: #111; background: #fff;
       max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; }
h1, h2, h3 { line-height: 1.2; }
h2 { border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem; margin-top: 2.5rem; }
table { border-collapse: collapse; margin: 0.8rem 0 1.2rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #999; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
thead th { background: #e8eef4; }
td[data-value] { text-align: right; font-variant-numeric: tabular-nums; }
ul.names { margin: 0; padding: 0; list-style: none; }
ul.names li { display: inline; }
ul.names li + li::before { content: ", "; }
figure { margin: 1rem 0; }
img { max-width: 100%; height: auto; }
figcaption { font-size: 0.95rem; color: #333; }
"""


class Number(NamedTuple):
    """A table cell holding a number: `value` goes into data-value, `text` is what the reader sees."""

    value: float
    text: str


class Spread(NamedTuple):
    """What a table says of a list of numbers."""

    mean: float
    median: float
    minimum: float
    maximum: float


def write_class_report(out_folder, rows, lesson_cells, problems):
    """Write out_folder/report.html and its figures in out_folder/report/ (replaced whole: no stale figure stays).

    `rows`: the rows of grades.csv; `lesson_cells`: {lesson: its GradedCells}, in course order; `problems`: the
    files not graded.
    """
    figures = out_folder / FIGURES
    shutil.rmtree(figures, ignore_errors=True)
    figures.mkdir(parents=True)
    lessons = list(lesson_cells)
    sections = [
        *(_lesson_section(out_folder, lesson, rows, lesson_cells[lesson]) for lesson in lessons),
        _mistakes_section(rows, lessons),
        _flags_section(rows),
        _not_graded_section(rows),
        _pending_section(rows, lessons),
        _timing_section(out_folder, rows),
    ]
    page = "\n".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Class report</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>",
            _header(rows, lessons, problems),
            *sections,
            "</main>\n</body>\n</html>\n",
        ]
    )
    (out_folder / "report.html").write_text(page, encoding="utf-8")


def _header(rows, lessons, problems):
    counts = Counter(row.status for row in rows)
    written = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    contents = [
        *((f"lesson-{lesson}", f"Lesson {lesson}") for lesson in lessons),
        ("mistakes", "Most frequent mistakes"),
        ("flags", "Integrity flags to review"),
        ("not-graded", "Submissions not graded"),
        ("manual-pending", "Manual grading still pending"),
        ("timing", "Time per submission"),
    ]
    parts = [
        "<h1>Class report</h1>",
        f"<p>Written {_text(written)}, from the rows of grades.csv next to this page: "
        f"{len({row.student for row in rows})} students, {len(lessons)} lessons, {len(rows)} submissions.</p>",
        _table(
            "status-counts",
            "Submissions by status",
            ["Status", "Submissions"],
            [[status, _count(counts[status])] for status in STATUSES],
        ),
    ]
    if problems:
        parts.append(f"<p>Files not graded ({len(problems)}, also listed in unmapped.txt):</p>")
        parts.append('<ul id="problems">' + "".join(f"<li>{_text(problem)}</li>" for problem in problems) + "</ul>")
    parts.append(
        '<nav aria-label="Sections"><ul>'
        + "".join(f'<li><a href="#{_text(anchor)}">{_text(title)}</a></li>' for anchor, title in contents)
        + "</ul></nav>"
    )
    return "\n".join(parts)


def _lesson_section(out_folder, lesson, rows, cells):
    lesson_rows = [row for row in rows if row.lesson == lesson]
    autograded = [row for row in lesson_rows if row.status in AUTOGRADED]
    others = Counter(row.status for row in lesson_rows if row.status not in AUTOGRADED)
    not_graded = ", ".join(f"{others[status]} {status}" for status in STATUSES if others[status])
    parts = [
        f'<section id="lesson-{_text(lesson)}">',
        f"<h2>Lesson {_text(lesson)}</h2>",
        f"<p>{len(autograded)} of {len(lesson_rows)} submissions were autograded"
        + (f" ({not_graded})" if not_graded else "")
        + ".</p>",
        "<h3>Score distribution</h3>",
        _score_distribution(out_folder, lesson, autograded, cells),
        "<h3>Per exercise</h3>",
        _exercises(out_folder, lesson, autograded, cells),
        "</section>",
    ]
    return "\n".join(parts)


def _score_distribution(out_folder, lesson, autograded, cells):
    """The histogram and spread of the lesson's scores: final scores, or the automatic part while one waits."""
    waiting = any(row.score is None for row in autograded)
    if waiting:
        scores = [row.auto_score for row in autograded]
        out_of = sum(cell.points for cell in cells if not cell.by_hand)
        what = "automatic score (written answers still wait for manual grading)"
    else:
        scores = [row.score for row in autograded]
        out_of = sum(cell.points for cell in cells)
        what = "score"
    spread = _spread(scores)
    table = _table(
        f"scores-{lesson}",
        f"{lesson}: {what}, in points out of {_points_text(out_of)}",
        ["Scored on", "Autograded submissions", "Mean", "Median", "Min", "Max", "Out of"],
        [
            [
                "automatic part" if waiting else "final score",
                _count(len(scores)),
                *(map(_points, spread) if spread else (None,) * 4),
                _points(out_of),
            ]
        ],
    )
    if not spread:
        return f"<p>No submission of {_text(lesson)} was autograded: no scores to show.</p>\n{table}"
    if out_of <= 0:
        return f"<p>{_text(lesson)} has no points on its {_text(what)}: no distribution to show.</p>\n{table}"
    # Rounded so that 7 of 10 points falls in the 70-80 % bin, not in 60-70 % by a rounding error.
    percents = [round(100 * score / out_of, 9) for score in scores]
    # Bins of 10 %; extra credit can take a score above 100 %.
    edges = np.arange(0, max(100, 10 * np.ceil(max(percents) / 10)) + 10, 10)
    figure, axes = _new_axes(6.4, 3.2)
    counts, _, _ = axes.hist(percents, bins=edges, color=PALETTE[0], edgecolor="white")
    axes.xaxis.set_major_formatter(PercentFormatter())
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    short = "automatic score" if waiting else "score"
    _label(
        axes,
        f"{lesson}: {short} of {len(scores)} autograded submissions",
        f"{short} (% of {_points_text(out_of)} points)",
        "submissions (count)",
    )
    name = f"scores_{_file_name(lesson)}.png"
    _save(figure, out_folder / FIGURES / name)
    alt = (
        f"Histogram of the {what} of the {len(scores)} autograded submissions of {lesson}, in 10% bins of "
        f"{_points_text(out_of)} points: mean {_percent_text(spread.mean / out_of)}, "
        f"median {_percent_text(spread.median / out_of)}, min {_percent_text(spread.minimum / out_of)}, "
        f"max {_percent_text(spread.maximum / out_of)}."
    )
    caption = f"The {what} of each autograded submission, as a percentage of {_points_text(out_of)} points."
    bins = _bins_table(
        f"score-bins-{lesson}",
        f"{lesson}: autograded submissions per {short} bin",
        edges,
        counts,
        "{:g}%",
        "submissions",
    )
    return "\n".join([_figure(name, alt, caption), table, bins])


def _exercises(out_folder, lesson, autograded, cells):
    """Per graded cell: the mean fraction of its points over the submissions that have its score, as bars and a table.

    A written answer still waiting ("" in cell_scores) counts as pending, not as 0.
    """
    if not cells:
        return "<p>The lesson has no graded cells.</p>"
    table_rows, means = [], {}
    for cell in cells:
        # A submission graded before the lesson gained a cell has no score for it.
        scored = [
            row.cell_scores[cell.grade_id] for row in autograded if row.cell_scores.get(cell.grade_id) not in ("", None)
        ]
        pending = sum(row.cell_scores.get(cell.grade_id) == "" for row in autograded)
        mean = statistics.fmean(scored) / cell.points if scored and cell.points > 0 else None
        if mean is not None:
            means[cell.grade_id] = mean
        table_rows.append(
            [
                cell.grade_id,
                "by hand" if cell.by_hand else "tests",
                _points(cell.points),
                _count(len(scored)),
                None if mean is None else _percent(mean),
                _count(sum(score >= cell.points for score in scored)),
                _count(pending),
            ]
        )
    table = _table(
        f"exercises-{lesson}",
        f"{lesson}: score per graded cell over its {len(autograded)} autograded submissions",
        ["Graded cell", "Graded", "Points", "Scored", "Mean score", "Full marks", "Pending"],
        table_rows,
    )
    if not means:
        return f"<p>No graded cell of {_text(lesson)} has a score yet.</p>\n{table}"
    figure, axes = _new_axes(6.4, 1.0 + 0.32 * len(cells))
    positions = np.arange(len(cells))
    for by_hand, color, label in ((False, PALETTE[0], "scored by tests"), (True, PALETTE[1], "scored by hand")):
        shown = [i for i, cell in enumerate(cells) if cell.by_hand == by_hand and cell.grade_id in means]
        if shown:
            axes.barh(positions[shown], [100 * means[cells[i].grade_id] for i in shown], color=color, label=label)
    for position, cell in zip(positions, cells):
        mean = means.get(cell.grade_id)
        note = "no score yet" if mean is None else _percent_text(mean)
        axes.text(0 if mean is None else 100 * mean, position, f" {note}", va="center", fontsize=TICK_PT)
    axes.set_yticks(positions, [cell.grade_id for cell in cells])
    axes.invert_yaxis()  # notebook order, top to bottom
    axes.set_xlim(0, max(115, 100 * max(means.values()) + 15))
    axes.xaxis.set_major_formatter(PercentFormatter())
    _label(axes, f"{lesson}: mean score per graded cell", "mean score (% of the cell's points)", "graded cell")
    if len({cell.by_hand for cell in cells if cell.grade_id in means}) > 1:
        axes.legend(fontsize=TICK_PT, loc="upper left", bbox_to_anchor=(1, 1))
    name = f"exercises_{_file_name(lesson)}.png"
    _save(figure, out_folder / FIGURES / name)
    alt = f"Bar chart of the mean score of each graded cell of {lesson}, as a percentage of its points: " + "; ".join(
        f"{cell.grade_id} {_percent_text(means[cell.grade_id]) if cell.grade_id in means else 'no score yet'}"
        for cell in cells
    )
    caption = "Mean score of each graded cell, over the submissions that have its score (pending ones excluded)."
    return _figure(name, alt + ".", caption) + "\n" + table


def _mistakes_section(rows, lessons):
    """The failures grouped by (lesson, cell, mistake named), most frequent first."""
    groups = defaultdict(list)
    for row in rows:
        for failure in row.failures:
            grade_id = failure.partition(": ")[0]
            groups[row.lesson, grade_id, _named_mistake(failure)].append(row.student)
    order = sorted(
        groups.items(),
        key=lambda item: (-len(item[1]), _index(lessons, item[0][0]), item[0][1], item[0][2] or ""),
    )
    table_rows = [
        [mistake or NO_NAMED_MISTAKE, grade_id, lesson, _count(len(students)), sorted(set(students))]
        for (lesson, grade_id, mistake), students in order
    ]
    parts = [
        '<section id="mistakes">',
        "<h2>Most frequent mistakes</h2>",
        "<p>Each failed test, grouped by the known mistake its message names "
        "(“That is what you get if you …”); a test that named none counts under "
        f"“{NO_NAMED_MISTAKE}” for its cell.</p>",
    ]
    if table_rows:
        parts.append(
            _table(
                "mistake-counts",
                "Failed tests by mistake, most frequent first",
                ["Mistake: that is what you get if you …", "Graded cell", "Lesson", "Failures", "Students"],
                table_rows,
            )
        )
    else:
        parts.append("<p>No test failed.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _named_mistake(failure):
    """The catalogued mistake a failure ('grade_id: ename: message' of graded_notebook.failed_tests) names, or None.

    The sentence ends the message (checks append it to what differs); failed_tests cuts a long failure short, so a
    description without its final full stop was cut and is marked so.
    """
    _, found, mistake = failure.rpartition(MISTAKE_SENTENCE)
    if not found:
        return None
    return mistake[:-1] if mistake.endswith(".") else mistake + "…"


def _flags_section(rows):
    flagged = [row for row in rows if row.flags]
    parts = [
        '<section id="flags">',
        "<h2>Integrity flags to review</h2>",
        "<p>What autograder/grading/integrity.py and the kernel guard noticed in a submission: "
        "not proof of anything, but worth a look.</p>",
    ]
    if flagged:
        parts.append(
            _table(
                "flagged",
                f"{len(flagged)} flagged submissions",
                ["Student", "Lesson", "Status", "Flags"],
                [[row.student, row.lesson, row.status, list(row.flags)] for row in flagged],
            )
        )
    else:
        parts.append("<p>No submission was flagged.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _not_graded_section(rows):
    """One table per status other than graded or needs manual grading, with each submission's detail."""
    parts = ['<section id="not-graded">', "<h2>Submissions not graded</h2>"]
    for status in STATUSES:
        if status in AUTOGRADED:
            continue
        concerned = [row for row in rows if row.status == status]
        if concerned:
            parts.append(f"<h3>{_text(status)} ({len(concerned)})</h3>")
            parts.append(
                _table(
                    f"status-{status.replace(' ', '-')}",
                    f"Submissions with status “{status}”",
                    ["Student", "Lesson", "Detail"],
                    [[row.student, row.lesson, row.detail] for row in concerned],
                )
            )
    if len(parts) == 2:
        parts.append(f"<p>Every submission was {GRADED} or {NEEDS_MANUAL_GRADING}.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _pending_section(rows, lessons):
    table_rows = []
    for lesson in lessons:
        waiting = [row for row in rows if row.lesson == lesson and row.manual_pending]
        if waiting:
            cells = Counter(grade_id for row in waiting for grade_id in row.manual_pending)
            table_rows.append(
                [
                    lesson,
                    _count(len(waiting)),
                    [f"{grade_id} ({count})" for grade_id, count in cells.items()],
                    [row.student for row in waiting],
                ]
            )
    parts = [
        '<section id="manual-pending">',
        "<h2>Manual grading still pending</h2>",
        "<p>Written answers without a score yet: give them one in Formgrader, then run <code>grade</code> again "
        "(nothing is regraded).</p>",
    ]
    if table_rows:
        parts.append(
            _table(
                "pending-by-lesson",
                "Submissions waiting for a manual score, by lesson",
                ["Lesson", "Submissions waiting", "Cells waiting (submissions)", "Students"],
                table_rows,
            )
        )
    else:
        parts.append("<p>No written answer waits for a manual score.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _timing_section(out_folder, rows):
    """How long grading took per notebook regraded in this run; rows reused from the cache took no time."""
    seconds = [row.seconds for row in rows if row.regraded and row.status in AUTOGRADED]
    reused = sum(not row.regraded for row in rows)
    spread = _spread(seconds)
    table = _table(
        "grading-time",
        "Grading time per autograded notebook regraded in this run",
        ["Regraded and autograded", "Mean", "Median", "Max", "Reused from the cache"],
        [
            [
                _count(len(seconds)),
                *(
                    (_seconds(spread.mean), _seconds(spread.median), _seconds(spread.maximum))
                    if spread
                    else (None,) * 3
                ),
                _count(reused),
            ]
        ],
    )
    parts = ['<section id="timing">', "<h2>Time per submission</h2>"]
    if spread:
        figure, axes = _new_axes(6.4, 3.0)
        counts, edges, _ = axes.hist(seconds, bins=min(10, len(seconds)), color=PALETTE[2], edgecolor="white")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        _label(
            axes,
            f"Grading time of {len(seconds)} notebooks regraded in this run",
            "grading time per notebook (s)",
            "notebooks (count)",
        )
        name = "grading_time.png"
        _save(figure, out_folder / FIGURES / name)
        alt = (
            f"Histogram of the grading time of the {len(seconds)} autograded notebooks regraded in this run: "
            f"mean {spread.mean:.1f} s, median {spread.median:.1f} s, max {spread.maximum:.1f} s; "
            f"{reused} submissions reused from the cache."
        )
        parts.append(_figure(name, alt, "Seconds from the start of the notebook's nbgrader run to its status."))
        parts.append(_bins_table("time-bins", "Notebooks per grading time bin", edges, counts, "{:.1f} s", "notebooks"))
    else:
        parts.append(f"<p>No notebook was autograded in this run; {reused} submissions were reused from the cache.</p>")
    parts += [table, "</section>"]
    return "\n".join(parts)


def _new_axes(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.tick_params(labelsize=TICK_PT)
    return figure, axes


def _label(axes, title, xlabel, ylabel):
    axes.set_title(title, fontsize=TITLE_PT)
    axes.set_xlabel(xlabel, fontsize=LABEL_PT)
    axes.set_ylabel(ylabel, fontsize=LABEL_PT)


def _save(figure, path):
    figure.savefig(path, dpi=100)


def _figure(name, alt, caption):
    return (
        f'<figure><img src="{FIGURES}/{_text(name)}" alt="{_text(alt)}">'
        f"<figcaption>{_text(caption)}</figcaption></figure>"
    )


def _table(table_id, caption, headers, table_rows):
    """A table whose first column heads its rows. A cell is text, a Number, a list (of names) or None (no value)."""
    head = "".join(f'<th scope="col">{_text(header)}</th>' for header in headers)
    body = "".join(
        f'<tr><th scope="row"{_cell(cells[0])}</th>'
        + "".join(f"<td{_cell(cell)}</td>" for cell in cells[1:])
        + "</tr>\n"
        for cells in table_rows
    )
    return (
        f'<table id="{_text(table_id)}">\n<caption>{_text(caption)}</caption>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"
    )


def _cell(content):
    """What follows '<td' (or '<th scope="row"') in a table cell: its data-value, if any, and its content."""
    if isinstance(content, Number):
        return f' data-value="{content.value!r}">{_text(content.text)}'
    if isinstance(content, list):
        return '><ul class="names">' + "".join(f"<li>{_text(name)}</li>" for name in content) + "</ul>"
    if content is None:
        return ">—"
    return f">{_text(content)}"


def _bins_table(table_id, caption, edges, counts, edge_format, counted):
    """A histogram's counts of `counted`, one column per bin: each bin holds its lower edge, the last its upper too."""
    bins = [f"{edge_format.format(low)}–{edge_format.format(high)}" for low, high in zip(edges, edges[1:])]
    return _table(table_id, caption, ["Bin", *bins], [[counted, *(_count(int(count)) for count in counts)]])


def _spread(values):
    if not values:
        return None
    return Spread(statistics.fmean(values), statistics.median(values), min(values), max(values))


def _count(value):
    return Number(value, str(value))


def _points(value):
    return Number(float(value), _points_text(value))


def _points_text(value):
    """7.5 -> '7.5', 10.0 -> '10', 7.3333 -> '7.33'."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _percent(fraction):
    return Number(fraction, _percent_text(fraction))


def _percent_text(fraction):
    return f"{100 * fraction:.0f}%"


def _seconds(value):
    return Number(value, f"{value:.1f} s")


def _index(lessons, lesson):
    return lessons.index(lesson) if lesson in lessons else len(lessons)


def _file_name(lesson):
    """The lesson as a file name: letters, digits, '_', '-' and '.' only, so that the page's src needs no quoting."""
    return "".join(char if char.isascii() and (char.isalnum() or char in "_-.") else "_" for char in lesson)


def _text(value):
    return html.escape(str(value))
