"""Recompute + redraw time of each interactive view as its controls move (target: well under 0.2 s).

Usage: python benchmarks/bench_widgets.py [--moves N] [--views SUBSTRING]
Every slider is swept across its range (N positions) and every menu, toggle and check box through all its
choices, for every schedule of a view that has a schedule menu (`course.views.view_moves`); each move
triggers the view's full update (computation, figure, PNG). Prints the median and worst time per view and
their ratio to the 0.2 s budget.
"""

import argparse
import os
import statistics
import time

import torch

from course.views import VIEWS, view_moves

BUDGET_S = 0.2


def timed_moves(view, moves):
    """Seconds taken by each move of `view` (see `view_moves`), the redraw it triggers included."""
    times = []
    for _description, control, value in view_moves(view, moves):
        start = time.perf_counter()
        control.value = value
        times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=15, help="slider positions per slider")
    parser.add_argument("--views", default="", help="only the views whose name contains this")
    args = parser.parse_args()
    # As every lesson's setup cell does: on a shared 2-core CPU a second intra-op thread only waits for the
    # other jobs (lesson 00's view took 0.5 s for some moves with two threads under load).
    torch.set_num_threads(1)
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}")
    print(f"{'view':28} {'moves':>6} {'median ms':>10} {'worst ms':>10} {'median/budget':>14} {'worst/budget':>13}")
    for name, make in VIEWS.items():
        if args.views not in name:
            continue
        times = timed_moves(make(), args.moves)
        median, worst = statistics.median(times), max(times)
        print(
            f"{name:28} {len(times):6d} {median * 1e3:10.1f} {worst * 1e3:10.1f} {median / BUDGET_S:14.2f} "
            f"{worst / BUDGET_S:13.2f}"
        )
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
