"""The grader's own verdict on each test cell, made outside the student's process from the checks' evidence.

A test cell's points come from nbgrader's run of the notebook, in the student's kernel: code there can make a
failing cell look passed (README: the threat model). The checks also write what they compared to an evidence
file (autograder/checks/evidence.py). Once the kernel is dead, this module compares, cell by cell, the values the
student's answers gave with the values expected in the reference run, the lesson's solution notebook graded by
itself in the same sandbox, with its hidden tests and its cells seeded alike (kernel_guard.py: each cell seeds
the random generators from its own source). A test cell keeps its points only if its evidence has as many
comparisons as the reference run's, each within the reference's tolerance, and if the kernel guard found nothing
replaced while it ran (its reports name the cell); otherwise it scores 0, its feedback says why, and grades.csv
flags it. The kernel can still write the evidence file, but only values that are right pass: a wrong answer has
to compute the right ones to score (README: the threat model says what remains).

The reference run's evidence is cached by the lesson's source, the autograder's code and the limits, under
`GradingRun.reference_cache`; it is computed once per lesson, by the first submission that needs it.
"""

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass

import nbformat
from nbgrader.api import MissingEntry

from autograder.build import CourseError
from autograder.checks import evidence
from autograder.checks.compare import first_difference
from autograder.checks.trajectory import trajectory_difference
from autograder.grading import cache
from autograder.grading.gradebook import open_gradebook
from autograder.grading.graded_notebook import failed_tests
from autograder.grading.kernel_guard import cell_digest
from autograder.grading.nbgrader_run import EVIDENCE_LIMIT, autograde
from autograder.grading.records import Submission

# The reference run's student id: intake strips a leading '_' from every id, so no student has it.
REFERENCE_STUDENT = "_reference"
_LOCKS = {}  # lesson -> the lock under which its reference evidence is made
_LOCKS_LOCK = threading.Lock()


class EvidenceError(ValueError):
    """An evidence file that cannot be read as `evidence.record` writes it."""


@dataclass(frozen=True)
class Comparison:
    """One line of evidence: which cell ran it, what it compared, how, and the values (as written)."""

    cell: str  # kernel_guard.cell_digest of the cell's source
    what: str
    compare: str
    rtol: float
    atol: float
    actual: object
    expected: object


def parse_evidence(data):
    """The comparisons in the evidence file's contents `data` (bytes). Raises EvidenceError."""
    if len(data) > EVIDENCE_LIMIT:
        raise EvidenceError(f"it is over {EVIDENCE_LIMIT >> 20} MiB")
    try:
        return [_comparison(json.loads(line)) for line in data.splitlines() if line.strip()]
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise EvidenceError(f"it is not what the checks write ({type(error).__name__})") from None


def _comparison(line):
    comparison = Comparison(**line)
    if not (
        isinstance(comparison.cell, str)
        and isinstance(comparison.what, str)
        and comparison.compare in (evidence.VALUE, evidence.RECORDS)
        and all(isinstance(value, (int, float)) for value in (comparison.rtol, comparison.atol))
    ):
        raise ValueError("a line of the wrong form")
    return comparison


def is_test_cell(cell):
    """Whether `cell` is a graded test cell: code that nbgrader scores, no answer of the student's."""
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbgrader.get("grade")) and not nbgrader.get("solution")


def test_cells(notebook):
    """{cell digest: grade_id} of the graded test cells of an autograded notebook."""
    return {
        cell_digest(cell.source): cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells if is_test_cell(cell)
    }


def by_test_cell(comparisons, notebook):
    """{grade_id: [its comparisons, in order]} for every graded test cell of `notebook`."""
    cells = test_cells(notebook)
    found = {grade_id: [] for grade_id in cells.values()}
    for comparison in comparisons:
        if comparison.cell in cells:
            found[cells[comparison.cell]].append(comparison)
    return found


def verdicts(reference, comparisons):
    """{grade_id: why it fails} for each test cell whose comparisons disagree with the reference run's.

    `reference` and `comparisons` map grade_ids to Comparison lists (`by_test_cell`); a cell the reference run
    compared nothing in is left to nbgrader's verdict.
    """
    found = {}
    for grade_id, expected in reference.items():
        actual = comparisons.get(grade_id, [])
        if not expected:
            continue
        if len(actual) != len(expected):
            found[grade_id] = (
                f"its tests made {len(actual)} of the {len(expected)} comparisons of the grader's reference run"
            )
            continue
        for got, want in zip(actual, expected):
            difference = disagreement(got, want)
            if difference:
                found[grade_id] = difference
                break
    return found


def disagreement(got, want):
    """How the student's comparison `got` differs from the reference run's `want`, in a sentence, or None.

    The student's `actual` values are held to the reference's expected values, comparison and tolerances.
    """
    try:
        actual, expected = evidence.decode(got.actual), evidence.decode(want.expected)
        if want.compare == evidence.RECORDS:
            if not isinstance(actual, list):
                return f"{want.what}: your answer's records could not be read"
            found = trajectory_difference(actual, expected, want.rtol, want.atol, why_none="")
            return None if found is None else f"{want.what}: {found[1]}"
        return first_difference(actual, expected, want.rtol, want.atol, name=want.what, why_none="")
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return f"{want.what}: your answer gave something that is not numbers"


def reference_evidence(run, lesson):
    """{grade_id: [Comparison]} of the lesson's reference run, made once and kept under `run.reference_cache`.

    Raises CourseError when the solution fails its own tests or its evidence cannot be read.
    """
    with _LOCKS_LOCK:
        lock = _LOCKS.setdefault(lesson, threading.Lock())
    with lock:
        cached = reference_file(run, lesson)
        if not cached.is_file():
            _write_atomically(cached, json.dumps(_reference_run(run, lesson)))
        saved = json.loads(cached.read_text())
        return {grade_id: [Comparison(**line) for line in lines] for grade_id, lines in saved.items()}


def reference_file(run, lesson):
    """Where the evidence of the lesson's reference run is kept: named by the lesson's source, the grader's code and
    the limits, so that a cache shared between classes holds only reference runs each would make alike."""
    source = run.source_notebook(lesson)
    key = hashlib.sha256(cache.fingerprint(run, [lesson]).encode() + source.read_bytes()).hexdigest()
    return run.reference_cache / f"{lesson}-{key}.json"


def _reference_run(run, lesson):
    submission = Submission(REFERENCE_STUDENT, lesson, None, (), 0, "")
    shutil.rmtree(run.run_folder(submission), ignore_errors=True)
    run.run_folder(submission).mkdir(parents=True)
    outcome = autograde(run, submission, nbformat.read(run.source_notebook(lesson), as_version=4))
    autograded = run.autograded_notebook(submission)
    where = run.run_folder(submission).relative_to(run.out)
    if outcome.exit_status != 0 or not autograded.is_file():
        raise CourseError(f"the reference run of {lesson}'s solution failed; see {where}")
    failed = failed_tests(autograded)
    if failed:
        raise CourseError(f"{lesson}'s solution fails its own tests in the grader: {'; '.join(failed)}")
    try:
        found = by_test_cell(parse_evidence(outcome.evidence), nbformat.read(autograded, as_version=4))
    except EvidenceError as error:
        raise CourseError(f"the evidence of {lesson}'s reference run cannot be read: {error}") from None
    # Nothing of it for Formgrader to show; other lessons' reference runs may be under way beside it.
    for notebook in (run.submitted_notebook(submission), autograded):
        shutil.rmtree(notebook.parent, ignore_errors=True)
    return {grade_id: [vars(line) for line in lines] for grade_id, lines in found.items()}


def _write_atomically(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    partial.write_text(text)
    os.replace(partial, path)


def overrule(run, submission, found):
    """Score 0, in the submission's gradebook and autograded notebook, each test cell of `found` that scored.

    `found`: {grade_id: why}. The cell gets an error output saying why, which the failures column
    and the feedback page show. Returns the grade_ids that lost points.
    """
    if not found:
        return []
    lesson, student = submission.lesson, submission.student
    overruled = []
    with open_gradebook(run.run_folder(submission) / "gradebook.db") as gradebook:
        for grade_id in found:
            try:
                grade = gradebook.find_grade(grade_id, lesson, lesson, student)
            except MissingEntry:
                continue
            if grade.auto_score:
                grade.auto_score = 0.0
                overruled.append(grade_id)
        gradebook.db.commit()
    if overruled:
        path = run.autograded_notebook(submission)
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in overruled:
                message = f"checked again by the grader, outside your notebook: {found[grade_id]}"
                cell.outputs.append(
                    nbformat.v4.new_output("error", ename="AssertionError", evalue=message, traceback=[message])
                )
        nbformat.write(notebook, path)
    return overruled


def judge(run, submission, outcome):
    """Overrule the test cells whose evidence disagrees with the reference run's, or during which the guard found
    something replaced; returns flags for grades.csv.

    `outcome`: the submission's AutogradeOutcome, whose `evidence` holds what its kernel wrote.
    """
    notebook = nbformat.read(run.autograded_notebook(submission), as_version=4)
    if not any(passed_in_kernel(cell) for cell in notebook.cells):
        return []
    reference = reference_evidence(run, submission.lesson)
    try:
        found = verdicts(reference, by_test_cell(parse_evidence(outcome.evidence), notebook))
    except EvidenceError as error:
        why = f"the record of your answers' values could not be read: {error}"
        found = {grade_id: why for grade_id, lines in reference.items() if lines}
    cells = test_cells(notebook)
    for cell, sentence in outcome.guard_events:  # the guard's (kernel_guard.py), tagged by the cell that ran
        if cell in cells:
            found.setdefault(cells[cell], f"while this test ran, your code changed what the tests rely on: {sentence}")
    return [
        f"{grade_id} passed in the notebook, not in the grader's own check (scored 0)"
        for grade_id in overrule(run, submission, found)
    ]


def passed_in_kernel(cell):
    """Whether `cell` is a graded test cell that ran without an error output: nbgrader gives it its points."""
    return is_test_cell(cell) and not any(output.get("output_type") == "error" for output in cell.outputs)
