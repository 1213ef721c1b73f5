"""Interactive views for the lessons: sliders in, a freshly drawn figure and a short readout out.

Figures are drawn off-screen with matplotlib's Agg canvas into an `ipywidgets.Image`, which redraws
in one round trip without flicker and works in any Jupyter front end (no ipympl needed). Each view
updates its artists in place rather than clearing its axes: re-creating ticks and text would cost
more than the whole computation. One module per lesson; `base` holds what they share.
"""
from .adaptive import adaptive_explorer
from .base import PALETTE, PathExplorer, control_values, learning_rate_slider, render_png, view_moves
from .batch_norm import batch_norm_explorer
from .clipping import clipping_explorers
from .init_residual import init_explorer
from .landscape import gradient_flow_explorer
from .momentum import momentum_explorer
from .normalization import dropout_explorer, norm_explorer
from .schedules import schedule_explorer

# Every view of every lesson, as a function that builds it with the reference implementations and the
# notebooks' settings: benchmarks/bench_widgets.py times them, tests/test_widgets_all_views.py checks them.
VIEWS = {
    "00 gradient_flow_explorer": gradient_flow_explorer,
    "01 momentum_explorer": momentum_explorer,
    "02 adaptive_explorer": adaptive_explorer,
    "03 batch_norm_explorer": batch_norm_explorer,
    "04 schedule_explorer": schedule_explorer,
    "05 clipping vector view": lambda: clipping_explorers()[0],
    "05 clipping training view": lambda: clipping_explorers()[1],
    "06 norm_explorer": norm_explorer,
    "06 dropout_explorer": dropout_explorer,
    "07 init_explorer": init_explorer,
}

__all__ = [
    "PALETTE", "PathExplorer", "VIEWS", "control_values", "learning_rate_slider", "render_png", "view_moves",
    "gradient_flow_explorer",  # 00
    "momentum_explorer",  # 01
    "adaptive_explorer",  # 02
    "batch_norm_explorer",  # 03
    "schedule_explorer",  # 04
    "clipping_explorers",  # 05
    "dropout_explorer", "norm_explorer",  # 06
    "init_explorer",  # 07
]
