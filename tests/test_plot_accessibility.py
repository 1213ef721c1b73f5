"""The accessibility check finds what it should, and every interactive view passes it after every move.

The notebooks' own figures are checked as tests/test_notebooks.py executes each solution.
"""

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course import PALETTE
from course.views import VIEWS
from plot_accessibility import problems
from widget_views import built_view, every_move


def new_axes(count=1):
    figure = Figure()
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, count)
    return figure, axes


def test_a_careless_figure_has_every_problem_named():
    figure, (lines_axes, image_axes) = new_axes(2)
    red, green = matplotlib.colormaps["tab10"].colors[3], matplotlib.colormaps["tab10"].colors[2]
    lines_axes.plot([0, 1], [0, 1], color=red, label="train")
    lines_axes.plot([0, 1], [1, 0], color=green, label="test")
    lines_axes.set_ylabel("loss")
    lines_axes.text(0.5, 0.5, "note", fontsize=6)
    image_axes.imshow(np.arange(12.0).reshape(3, 4), cmap="jet")
    image_axes.set(title="Weights", xlabel="input", ylabel="unit")
    figure.suptitle("A suptitle does not name the panels")
    found = "\n".join(problems(figure))
    assert "panel 1 (untitled): has no title" in found
    assert "panel 1 (untitled): its x axis has no label" in found
    assert "no legend names test, train" in found
    assert "#d62728, outside the colour-blind-safe palette" in found and "#2ca02c" in found
    assert "colour map 'jet' is not perceptually uniform" in found
    assert "text 'note' is 6 pt" in found
    assert "Weights" not in found.replace("panel 2 (Weights): colour map", "")  # nothing else wrong with panel 2


def test_a_careful_figure_passes():
    figure, (lines_axes, image_axes) = new_axes(2)
    for color, label in zip(PALETTE, ("train", "test")):
        lines_axes.plot([0, 1], np.random.default_rng(0).random(2), color=color, label=label)
    lines_axes.axhline(0.5, color="0.5", linestyle=":")
    lines_axes.fill_between([0, 1], [0, 0], [0.2, 0.3], color=PALETTE[0], alpha=0.2)
    lines_axes.set(title="Loss", xlabel="step", ylabel="loss")
    lines_axes.legend(fontsize=8)
    image_axes.pcolormesh(np.random.default_rng(0).normal(size=(3, 4)), cmap="coolwarm")
    image_axes.contour(np.random.default_rng(1).random((5, 5)), colors="0.75")
    image_axes.set(title="Signed weights", xlabel="input", ylabel="unit")
    assert problems(figure) == []


def test_images_with_their_axes_turned_off_need_no_axis_labels():
    figure, axes = new_axes()
    axes.imshow(np.eye(3), cmap="gray")
    axes.set_title("Identity")
    axes.axis("off")
    assert problems(figure) == []


@pytest.mark.parametrize(
    "label, ok",
    [
        ("training time (s)", True),
        ("wall-clock time (ms)", True),
        ("elapsed", False),
        ("time", False),
        ("times the first loss", True),
    ],
)
def test_time_axes_name_their_unit(label, ok):
    figure, axes = new_axes()
    axes.plot([0, 1], [0, 1], color=PALETTE[0])
    axes.set(title="Progress", xlabel=label, ylabel="accuracy")
    assert (problems(figure) == []) == ok


@pytest.mark.parametrize("name", VIEWS)
def test_every_view_passes_after_every_move(name):
    view = built_view(name)
    assert problems(view.figure) == [], "as built"
    for description in every_move(view, positions=3):
        assert problems(view.figure) == [], f"after {description}"
