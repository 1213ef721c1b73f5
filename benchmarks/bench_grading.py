"""Grading speed: seconds per submission and submissions per minute with 1 and with 2 workers, the sandbox's cost,
and the fork server's gain.

Usage: python benchmarks/bench_grading.py [--students N] [--lesson LESSON]
N copies of the lesson's full-marks submission (the released notebook with the solution's answers typed
in) are graded from scratch with --jobs 1, then with --jobs 2, then with --jobs 2 and --unsafe-no-sandbox, then
with --jobs 2 and every nbgrader run a new `python -m nbgrader` process (the path before the fork server of
autograder/grading/nbgrader_run.py), in the same run; the ratios are printed.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from autograder.grading import nbgrader_run  # noqa: E402
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


def graded_seconds(submissions, out, jobs, unsafe=False):
    start = time.perf_counter()
    rows, _problems = grade_class(GradingRun(submissions, out, jobs=jobs, unsafe=unsafe))
    elapsed = time.perf_counter() - start
    statuses = {row.status for row in rows}
    # A full-marks submission of a lesson with written answers waits for them: autograded all the same.
    if not statuses <= set(AUTOGRADED) or any(row.auto_score != row.auto_max_score for row in rows):
        raise SystemExit(f"expected every submission autograded with full automatic marks, got {statuses}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--lesson", default="01_momentum")
    args = parser.parse_args()
    lesson = nbformat.read(ROOT / "lessons" / args.lesson / f"{args.lesson}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / args.lesson / f"{args.lesson}.ipynb", as_version=4)
    full_marks = fill_in(lesson, solution)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        submissions = Path(scratch) / "submissions"
        for index in range(args.students):
            (submissions / f"student_{index}").mkdir(parents=True)
            nbformat.write(full_marks, submissions / f"student_{index}" / f"{args.lesson}.ipynb")
        print(f"{args.lesson}, {args.students} full-marks submissions")
        print(f"{'workers':>8} {'sandbox':>8} {'nbgrader runs':>22} {'s / submission':>15} {'submissions / min':>18}")
        rates = {}
        for jobs, unsafe, forked in [(1, False, True), (2, False, True), (2, True, True), (2, False, False)]:
            fork_server = nbgrader_run._FORK_SERVER
            if not forked:
                nbgrader_run._FORK_SERVER = NewInterpreters
            try:
                elapsed = graded_seconds(submissions, Path(scratch) / f"out_{jobs}_{unsafe}_{forked}", jobs, unsafe)
            finally:
                nbgrader_run._FORK_SERVER = fork_server
            rates[jobs, unsafe, forked] = args.students / elapsed * 60
            sandbox = "none" if unsafe else "bwrap"
            runs = "forked, nbgrader loaded" if forked else "new interpreters"
            rate = rates[jobs, unsafe, forked]
            print(f"{jobs:>8} {sandbox:>8} {runs:>22} {elapsed / args.students:15.1f} {rate:18.1f}")
        two = rates[2, False, True]
        print(f"2 workers / 1 worker throughput: {two / rates[1, False, True]:.2f}")
        print(f"sandboxed / unsandboxed throughput (2 workers): {two / rates[2, True, True]:.2f}")
        print(f"fork server / new interpreters throughput (2 workers): {two / rates[2, False, False]:.2f}")


if __name__ == "__main__":
    main()
