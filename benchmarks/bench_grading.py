"""Grading speed: seconds per submission and submissions per minute with 1 and with 2 workers, and the sandbox's cost.

Usage: python benchmarks/bench_grading.py [--students N] [--lesson LESSON]
N copies of the lesson's full-marks submission (the released notebook with the solution's answers typed
in) are graded from scratch with --jobs 1, then with --jobs 2, then with --jobs 2 and --unsafe-no-sandbox, in the
same run; the speed-up of two workers over one, and the sandbox's slow-down, are printed as ratios.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from autograder.grading.pipeline import grade_class  # noqa: E402
from autograder.grading.records import GradingRun  # noqa: E402
from autograder.grading.status import AUTOGRADED  # noqa: E402
from fixtures.courses import fill_in  # noqa: E402


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
        print(f"{'workers':>8} {'sandbox':>8} {'s / submission':>15} {'submissions / min':>18}")
        rates = {}
        for jobs, unsafe in [(1, False), (2, False), (2, True)]:
            elapsed = graded_seconds(submissions, Path(scratch) / f"out_{jobs}_{unsafe}", jobs, unsafe)
            rates[jobs, unsafe] = args.students / elapsed * 60
            sandbox = "none" if unsafe else "bwrap"
            print(f"{jobs:>8} {sandbox:>8} {elapsed / args.students:15.1f} {rates[jobs, unsafe]:18.1f}")
        print(f"2 workers / 1 worker throughput: {rates[2, False] / rates[1, False]:.2f}")
        print(f"sandboxed / unsandboxed throughput (2 workers): {rates[2, False] / rates[2, True]:.2f}")


if __name__ == "__main__":
    main()
