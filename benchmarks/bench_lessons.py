"""Wall-clock time to execute each solution notebook top to bottom, in fast and in full mode.

Usage: python benchmarks/bench_lessons.py [--fast-only] [LESSON ...]
Prints seconds per mode and the full/fast ratio (fast mode is what tests and grading use).
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from notebook_runner import SOLUTIONS, errors_by_cell, execute  # noqa: E402


def timed_run(path, fast):
    start = time.perf_counter()
    notebook = execute(path, timeout=3600, fast=fast)
    elapsed = time.perf_counter() - start
    errors = errors_by_cell(notebook)
    if errors:
        raise SystemExit(f"{path.name} raised in {sorted(errors)}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson folder names (default: all)")
    parser.add_argument("--fast-only", action="store_true", help="skip the full-size runs")
    args = parser.parse_args()
    paths = [path for path in SOLUTIONS if not args.lessons or path.parent.name in args.lessons]
    print(f"{'lesson':32} {'fast s':>8} {'full s':>8} {'full/fast':>10}")
    for path in paths:
        fast = timed_run(path, fast=True)
        if args.fast_only:
            print(f"{path.parent.name:32} {fast:8.1f}")
            continue
        full = timed_run(path, fast=False)
        print(f"{path.parent.name:32} {fast:8.1f} {full:8.1f} {full / fast:10.1f}")


if __name__ == "__main__":
    main()
