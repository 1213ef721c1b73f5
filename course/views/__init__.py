"""Interactive views for the lessons: sliders in, a freshly drawn figure and a short readout out.

Figures are drawn off-screen with matplotlib's Agg canvas into an `ipywidgets.Image`, which redraws
in one round trip without flicker and works in any Jupyter front end (no ipympl needed). Each view
updates its artists in place rather than clearing its axes: re-creating ticks and text would cost
more than the whole computation. Every view is a subclass of `View` (in `base`, with what the views share),
and only draws: the training runs it shows come from `course.experiments`. One module per lesson.
"""

from ..lessons import LESSONS
from .adaptive import adaptive_explorer
from .base import PathExplorer, View, control_values, learning_rate_slider, render_png, view_moves
from .batch_norm import batch_norm_explorer
from .clipping import clipping_explorers, clipping_training_explorer, clipping_vector_explorer
from .gradient_flow import gradient_flow_explorer
from .init_residual import init_explorer
from .momentum import momentum_explorer
from .normalization import dropout_explorer, norm_explorer
from .schedules import schedule_explorer

# Every view of every lesson, as a function that builds it with the reference implementations and the
# notebooks' settings, named "NN function" after course.lessons.LESSONS: benchmarks/bench_widgets.py times them,
# tests/test_widgets_all_views.py checks them.
VIEWS = {f"{lesson.number} {name}": globals()[name] for lesson in LESSONS for name in lesson.views}

__all__ = [
    "PathExplorer",
    "VIEWS",
    "View",
    "control_values",
    "learning_rate_slider",
    "render_png",
    "view_moves",
    "gradient_flow_explorer",  # 00
    "momentum_explorer",  # 01
    "adaptive_explorer",  # 02
    "batch_norm_explorer",  # 03
    "schedule_explorer",  # 04
    "clipping_explorers",
    "clipping_training_explorer",
    "clipping_vector_explorer",  # 05
    "dropout_explorer",
    "norm_explorer",  # 06
    "init_explorer",  # 07
]
