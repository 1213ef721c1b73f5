"""The report of a run: grades.csv, unmapped.txt, sandbox.txt, report.html (autograder/grading/class_report.py)
and the summary printed at the end."""

import csv
from collections import Counter

from autograder.grading.class_report import write_class_report
from autograder.grading.intake import problem_list
from autograder.grading.status import AUTOGRADED, NEEDS_MANUAL_GRADING, STATUSES


def write_report(run, rows, lesson_cells, problems):
    """Write grades.csv (one row per student and lesson), unmapped.txt (the files not graded), sandbox.txt and
    report.html with its figures in report/ (the class at a glance) under run.out.

    `lesson_cells`: {lesson: its GradedCells}, in course order; each graded cell gets a column.
    """
    write_csv(rows, run.out / "grades.csv", [cell.grade_id for cells in lesson_cells.values() for cell in cells])
    (run.out / "unmapped.txt").write_text("".join(problem + "\n" for problem in problems))
    (run.out / "sandbox.txt").write_text(sandbox_statement(run) + "\n")
    write_class_report(run.out, rows, lesson_cells, problems)


def sandbox_statement(run):
    """How student code ran in this run, in one sentence, for the summary and DIR/sandbox.txt."""
    if run.unsafe:
        return (
            "UNSAFE: graded with --unsafe-no-sandbox: student code ran as the grader's user, "
            "able to read and change the grader's files"
        )
    return "Student code ran in the bubblewrap sandbox of autograder/grading/sandbox.py"


def write_csv(rows, path, cell_ids):
    columns = [
        "student",
        "submitted_as",
        "lesson",
        "status",
        "score",
        "max_score",
        "auto_score",
        "auto_max_score",
        "manual_score",
        "manual_max_score",
        "manual_pending",
        *cell_ids,
        "failures",
        "flags",
        "detail",
    ]
    with open(path, "w", newline="") as csv_file:
        writer = csv.DictWriter(csv_file, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    "student": row.student,
                    "submitted_as": row.submitted_as,
                    "lesson": row.lesson,
                    "status": row.status,
                    "score": _number(row.score),
                    "max_score": _number(row.max_score),
                    "auto_score": _number(row.auto_score),
                    "auto_max_score": _number(row.auto_max_score),
                    "manual_score": _number(row.manual_score),
                    "manual_max_score": _number(row.manual_max_score),
                    "manual_pending": " ".join(row.manual_pending),
                    **{cell: _number(score) for cell, score in row.cell_scores.items()},
                    "failures": " | ".join(row.failures),
                    "flags": "; ".join(row.flags),
                    "detail": row.detail,
                }
            )


def _number(value):
    """3.0 -> '3', 2.5 -> '2.5', None (no score yet) -> '': scores read the way the lesson headings state points."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else value


def print_summary(run, rows, problems, elapsed):
    """A few lines for the terminal: counts by status, mean score per lesson, every row with a detail or flag.

    A lesson with submissions still waiting for a manual score gets no mean score, only its automatic part's.
    """
    out = run.out
    counts = Counter(row.status for row in rows)
    regraded = [row for row in rows if row.regraded and row.status in AUTOGRADED]
    pace = f", {sum(row.seconds for row in regraded) / len(regraded):.1f} s per graded notebook" if regraded else ""
    print(
        f"{len(rows)} submissions in {elapsed:.0f} s ({sum(row.regraded for row in rows)} regraded{pace}): "
        + ", ".join(f"{counts[status]} {status}" for status in STATUSES if counts[status])
    )
    for lesson in dict.fromkeys(row.lesson for row in rows):
        lesson_rows = [row for row in rows if row.lesson == lesson]
        waiting = sum(row.status == NEEDS_MANUAL_GRADING for row in lesson_rows)
        if waiting:
            mean = sum(row.auto_score for row in lesson_rows) / len(lesson_rows)
            print(
                f"  {lesson}: no mean score yet, {waiting} of {len(lesson_rows)} await manual grading; "
                f"mean auto score {mean:.2f} of {_number(lesson_rows[0].auto_max_score)}"
            )
        else:
            mean = sum(row.score for row in lesson_rows) / len(lesson_rows)
            print(f"  {lesson}: mean score {mean:.2f} of {_number(lesson_rows[0].max_score)}")
    for row in rows:
        if row.detail or row.flags:
            print(f"  {row.student}, {row.lesson}: {row.status}; {'; '.join(filter(None, [row.detail, *row.flags]))}")
    if problems:
        print(f"Not graded ({out / 'unmapped.txt'}):" + problem_list(problems))
    print(f"Scores in {out / 'grades.csv'}, feedback pages in {out / 'feedback'}")
    print(f"The class at a glance: {out / 'report.html'}")
    print(sandbox_statement(run))
