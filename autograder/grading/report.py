"""The report of a run: grades.csv, unmapped.txt and the summary printed at the end."""

import csv
from collections import Counter

import nbformat

from autograder.grading.intake import problem_list
from autograder.grading.status import GRADED, STATUSES


def write_report(run, rows, lessons, problems):
    """Write grades.csv (one row per student and lesson) and unmapped.txt (the files not graded) under run.out."""
    write_csv(rows, run.out / "grades.csv", graded_cells(run, lessons))
    (run.out / "unmapped.txt").write_text("".join(problem + "\n" for problem in problems))


def graded_cells(run, lessons):
    """grade_ids of the cells that carry points in each lesson, in notebook order: the per-cell CSV columns."""
    cells = []
    for lesson in lessons:
        notebook = nbformat.read(run.source_notebook(lesson), as_version=4)
        # Tests and written answers are "grade" cells; a task (markdown graded by hand) is a "task" cell.
        cells += [
            cell.metadata["nbgrader"]["grade_id"]
            for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade") or cell.metadata.get("nbgrader", {}).get("task")
        ]
    return cells


def write_csv(rows, path, cell_ids):
    columns = ["student", "lesson", "status", "score", "max_score", *cell_ids, "failures", "flags", "detail"]
    with open(path, "w", newline="") as csv_file:
        writer = csv.DictWriter(csv_file, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    "student": row.student,
                    "lesson": row.lesson,
                    "status": row.status,
                    "score": _number(row.score),
                    "max_score": _number(row.max_score),
                    **{cell: _number(score) for cell, score in row.cell_scores.items()},
                    "failures": " | ".join(row.failures),
                    "flags": "; ".join(row.flags),
                    "detail": row.detail,
                }
            )


def _number(value):
    """3.0 -> '3', 2.5 -> '2.5': scores read the way the lesson headings state points."""
    return f"{value:g}" if isinstance(value, float) else value


def print_summary(rows, problems, out, elapsed):
    """A few lines for the terminal: counts by status, mean score per lesson, every row with a detail or flag."""
    counts = Counter(row.status for row in rows)
    regraded = [row for row in rows if row.regraded and row.status == GRADED]
    pace = f", {sum(row.seconds for row in regraded) / len(regraded):.1f} s per graded notebook" if regraded else ""
    print(
        f"{len(rows)} submissions in {elapsed:.0f} s ({sum(row.regraded for row in rows)} regraded{pace}): "
        + ", ".join(f"{counts[status]} {status}" for status in STATUSES if counts[status])
    )
    for lesson in dict.fromkeys(row.lesson for row in rows):
        lesson_rows = [row for row in rows if row.lesson == lesson]
        mean = sum(row.score for row in lesson_rows) / len(lesson_rows)
        print(f"  {lesson}: mean score {mean:.2f} of {_number(lesson_rows[0].max_score)}")
    for row in rows:
        if row.detail or row.flags:
            print(f"  {row.student}, {row.lesson}: {row.status}; {'; '.join(filter(None, [row.detail, *row.flags]))}")
    if problems:
        print(f"Not graded ({out / 'unmapped.txt'}):" + problem_list(problems))
    print(f"Scores in {out / 'grades.csv'}, feedback pages in {out / 'feedback'}")
