"""Grading speed: seconds per submission and submissions per minute with 1 and 2 workers, and what each part costs.

Usage: python benchmarks/bench_grading.py [--students N] [--lesson LESSON]
N copies of the lesson's full-marks submission (the released notebook with the solution's answers typed
in) are graded from scratch in each of CONFIGURATIONS, in the same run: --jobs 1; --jobs 2; --jobs 2 with
--unsafe-no-sandbox; --jobs 2 with every nbgrader run a new `python -m nbgrader` process (the path before the fork
server of autograder/grading/nbgrader_run.py); and that with every experiment edited by a comment, which the grader
then reruns as it did before it left experiments out (autograder/grading/execute_step.py): the path before issue 21.
The ratios are printed. The lesson's reference run is made beforehand, untimed, and shared, as a class shares it.
"""

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from autograder.grading import nbgrader_run  # noqa: E402
from autograder.grading.execute_step import EXPERIMENT_TAG  # noqa: E402
from autograder.grading.pipeline import grade_class  # noqa: E402
from autograder.grading.records import GradingRun  # noqa: E402
from autograder.grading.status import AUTOGRADED  # noqa: E402
from fixtures.courses import fill_in  # noqa: E402


class NewInterpreters:
    """Stands in for the fork server: each nbgrader run a new `python -m nbgrader` process, which imports it anew."""

    class Process:
        def __init__(self, target, args):
            self.arguments, self.folder, self.environment, self.log = args
            self.process = None

        def start(self):
            with open(self.log, "w") as log:
                command = [sys.executable, "-m", "nbgrader", *self.arguments]
                self.process = subprocess.Popen(
                    command, cwd=self.folder, env=self.environment, stdout=log, stderr=subprocess.STDOUT
                )

        def join(self, timeout=None):
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass

        @property
        def exitcode(self):
            return self.process.poll()

        @property
        def pid(self):
            return self.process.pid


def graded_seconds(submissions, out, jobs, unsafe=False, reference_cache=None):
    start = time.perf_counter()
    run = GradingRun(submissions, out, jobs=jobs, unsafe=unsafe, reference_cache=reference_cache)
    rows, _problems = grade_class(run)
    elapsed = time.perf_counter() - start
    statuses = {row.status for row in rows}
    # A full-marks submission of a lesson with written answers waits for them: autograded all the same.
    if not statuses <= set(AUTOGRADED) or any(row.auto_score != row.auto_max_score for row in rows):
        raise SystemExit(f"expected every submission autograded with full automatic marks, got {statuses}")
    return elapsed


def hand_in(scratch, name, notebook, students, lesson):
    """A folder of `students` copies of `notebook`, one per student."""
    submissions = Path(scratch) / name
    for index in range(students):
        (submissions / f"student_{index}").mkdir(parents=True)
        nbformat.write(notebook, submissions / f"student_{index}" / f"{lesson}.ipynb")
    return submissions


def with_experiments_edited(notebook):
    """`notebook` with each experiment cell changed by a comment: the grader reruns an edited experiment."""
    edited = copy.deepcopy(notebook)
    for cell in edited.cells:
        if EXPERIMENT_TAG in cell.metadata.get("tags", []):
            cell.source += "\n# edited"
    return edited


# (label, workers, --unsafe-no-sandbox, nbgrader runs forked, experiments edited so that the grader reruns them)
CONFIGURATIONS = [
    ("1 worker", 1, False, True, False),
    ("2 workers", 2, False, True, False),
    ("2 workers, no sandbox", 2, True, True, False),
    ("2 workers, new interpreters", 2, False, False, False),
    ("2 workers, new interpreters, experiments rerun (before issue 21)", 2, False, False, True),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--lesson", default="01_momentum")
    args = parser.parse_args()
    lesson = nbformat.read(ROOT / "lessons" / args.lesson / f"{args.lesson}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / args.lesson / f"{args.lesson}.ipynb", as_version=4)
    full_marks = fill_in(lesson, solution)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        classes = {
            edited: hand_in(scratch, f"submissions_{edited}", notebook, args.students, args.lesson)
            for edited, notebook in [(False, full_marks), (True, with_experiments_edited(full_marks))]
        }
        # The lesson's reference run, made once beforehand and shared, as a class's hundreds of submissions share it.
        reference_cache = Path(scratch) / "reference"
        one = hand_in(scratch, "one_student", full_marks, 1, args.lesson)
        for unsafe in (False, True):
            graded_seconds(one, Path(scratch) / f"warm_up_{unsafe}", 1, unsafe, reference_cache)
        print(f"{args.lesson}, {args.students} full-marks submissions")
        print(f"{'configuration':<66} {'s / submission':>15} {'submissions / min':>18}")
        rates = {}
        for label, jobs, unsafe, forked, edited in CONFIGURATIONS:
            fork_server = nbgrader_run._FORK_SERVER
            if not forked:
                nbgrader_run._FORK_SERVER = NewInterpreters
            try:
                out = Path(scratch) / f"out_{len(rates)}"
                elapsed = graded_seconds(classes[edited], out, jobs, unsafe, reference_cache)
            finally:
                nbgrader_run._FORK_SERVER = fork_server
            rates[label] = args.students / elapsed * 60
            print(f"{label:<66} {elapsed / args.students:15.1f} {rates[label]:18.1f}")
        two, labels = rates["2 workers"], [label for label, *_ in CONFIGURATIONS]
        print(f"2 workers / 1 worker throughput: {two / rates[labels[0]]:.2f}")
        print(f"sandboxed / unsandboxed throughput (2 workers): {two / rates[labels[2]]:.2f}")
        print(f"fork server / new interpreters throughput (2 workers): {two / rates[labels[3]]:.2f}")
        print(f"experiments left out / rerun (2 workers, new interpreters): {rates[labels[3]] / rates[labels[4]]:.2f}")
        print(f"now / before issue 21 (2 workers): {two / rates[labels[4]]:.2f}")


if __name__ == "__main__":
    main()
