"""Recompute + redraw time of each interactive view as its sliders move (target: well under 0.2 s).

Usage: python benchmarks/bench_widgets.py [--moves N]
Each slider is swept across its range; every move triggers the view's full update (trajectories,
figure, PNG). Prints median and worst time per view and their ratio to the 0.2 s budget.
"""
import argparse
import statistics
import time

import numpy as np

from reference_impl import widgets

# Every view of every lesson, as a function that builds it with the reference implementations.
VIEWS = {
    "00 gradient_flow_explorer": widgets.gradient_flow_explorer,
    "01 momentum_explorer": widgets.momentum_explorer,
    "02 adaptive_explorer": widgets.adaptive_explorer,
    "03 batch_norm_explorer": widgets.batch_norm_explorer,
    "04 schedule_explorer": widgets.schedule_explorer,
    "05 clipping vector view": lambda: widgets.clipping_explorers()[0],
    "05 clipping training view": lambda: widgets.clipping_explorers()[1],
    "06 norm_explorer": widgets.norm_explorer,
    "06 dropout_explorer": widgets.dropout_explorer,
    "07 init_explorer": widgets.init_explorer,
}
BUDGET_S = 0.2


def sweep_times(explorer, moves):
    times = []
    for control in explorer.controls.values():
        original = control.value
        low, high = control.min, control.max
        # FloatLogSlider's min/max are exponents; sweep the values it can show.
        values = (np.logspace(low, high, moves) if hasattr(control, "base") else np.linspace(low, high, moves))
        for value in values:
            start = time.perf_counter()
            control.value = float(value)
            times.append(time.perf_counter() - start)
        control.value = original
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=15, help="slider positions per control")
    args = parser.parse_args()
    print(f"{'view':28} {'median ms':>10} {'worst ms':>10} {'median/budget':>14} {'worst/budget':>13}")
    for name, make in VIEWS.items():
        times = sweep_times(make(), args.moves)
        median, worst = statistics.median(times), max(times)
        print(f"{name:28} {median * 1e3:10.1f} {worst * 1e3:10.1f} {median / BUDGET_S:14.2f} {worst / BUDGET_S:13.2f}")


if __name__ == "__main__":
    main()
