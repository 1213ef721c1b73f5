"""Interactive views for the lessons: sliders in, a freshly drawn figure and a short readout out.

Figures are drawn off-screen with matplotlib's Agg canvas into an `ipywidgets.Image`, which redraws
in one round trip without flicker and works in any Jupyter front end (no ipympl needed).
"""
import io

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import landscapes
from .fallback import implemented_or_reference
from .optim import sgd

# Okabe-Ito palette: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (Agg canvas; no pyplot state is touched)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class PathExplorer:
    """Trajectories of several optimizers on a 2-D landscape, redrawn whenever a control moves.

    `landscape_for(values)` returns the Landscape and `optimizers_for(values)` a dict
    ``{label: step(point, grad, state) -> (point, state)}``, both given the controls' current values
    as a dict. Display `explorer.widget`; call `explorer.update()` to redraw by hand.
    """

    def __init__(self, controls, landscape_for, optimizers_for, steps=60, title="", grid=60):
        self.controls = controls
        self.landscape_for = landscape_for
        self.optimizers_for = optimizers_for
        self.steps = steps
        self.title = title
        self.grid = grid
        self.figure = Figure(figsize=(9.5, 3.8), dpi=72)
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.25)
        FigureCanvasAgg(self.figure)
        self.path_axes, self.loss_axes = self.figure.subplots(1, 2, width_ratios=(1.4, 1))
        self.path_axes.set(xlabel="x", ylabel="y")
        (self._minimum_marker,) = self.path_axes.plot([], [], marker="*", color="black", markersize=12,
                                                      linestyle="none", label="minimum")
        self.loss_axes.set(xlabel="step", ylabel="loss − minimum (log scale)", title="Loss by step", yscale="log")
        self.loss_axes.grid(True, which="major", alpha=0.3)
        self._contours, self._drawn_landscape = None, None
        self._path_lines, self._loss_lines = {}, {}
        self.image = ipywidgets.Image(format="png")
        self.readout = ipywidgets.HTML()
        for control in controls.values():
            control.observe(lambda _change: self.update(), names="value")
        self.widget = ipywidgets.VBox([ipywidgets.HBox(list(controls.values())), self.image, self.readout])
        self.paths = {}
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> None:
        values = self.values()
        landscape = self.landscape_for(values)
        self.paths = {
            label: landscapes.descend(landscape, step, self.steps)
            for label, step in self.optimizers_for(values).items()
        }
        self._draw(landscape)
        self.image.value = render_png(self.figure)
        final = ", ".join(f"{label}: {landscape.loss(path[-1]):.3g}" for label, path in self.paths.items())
        self.readout.value = f"<b>Loss after {self.steps} steps</b> — {final}"

    def _draw(self, landscape) -> None:
        # Artists are updated in place rather than cleared and re-created: clearing axes rebuilds
        # every tick and text, which costs more than the whole computation.
        if landscape.name != self._drawn_landscape:
            self._draw_surface(landscape)
        if list(self.paths) != list(self._path_lines):
            self._create_lines()
        offset = landscape.loss(np.asarray(landscape.minimum))
        for label, path in self.paths.items():
            self._path_lines[label].set_data(path[:, 0], path[:, 1])
            self._loss_lines[label].set_data(np.arange(len(path)), np.maximum(landscape.loss(path) - offset, 1e-12))
        self.loss_axes.relim()
        self.loss_axes.autoscale_view()

    def _draw_surface(self, landscape) -> None:
        (x_min, x_max), (y_min, y_max) = landscape.bounds
        xs, ys = np.linspace(x_min, x_max, self.grid), np.linspace(y_min, y_max, self.grid)
        surface = landscape.loss(np.stack(np.meshgrid(xs, ys), axis=-1))
        if self._contours is not None:
            self._contours.remove()
        self._contours = self.path_axes.contour(xs, ys, np.log1p(surface - surface.min()), levels=15,
                                                colors="0.75", linewidths=0.8)
        self._minimum_marker.set_data([landscape.minimum[0]], [landscape.minimum[1]])
        self.path_axes.set(xlim=(x_min, x_max), ylim=(y_min, y_max),
                           title=f"{self.title}: paths on {landscape.name}")
        self._drawn_landscape = landscape.name

    def _create_lines(self) -> None:
        for line in [*self._path_lines.values(), *self._loss_lines.values()]:
            line.remove()
        self._path_lines, self._loss_lines = {}, {}
        for color, label in zip(PALETTE, self.paths):
            (self._path_lines[label],) = self.path_axes.plot([], [], marker="o", markersize=2.5, linewidth=1.3,
                                                             color=color, label=label)
            (self._loss_lines[label],) = self.loss_axes.plot([], [], color=color, label=label)
        self.path_axes.legend(loc="lower right", fontsize=8)


def learning_rate_slider(value, low=1e-3, high=3.0, description="learning rate"):
    """A log-scale slider for a learning rate between `low` and `high`."""
    return ipywidgets.FloatLogSlider(
        value=value, base=10, min=np.log10(low), max=np.log10(high), step=0.05,
        description=description, readout_format=".3g", continuous_update=True,
        style={"description_width": "initial"},
    )


def momentum_explorer(gd_step=None, heavy_ball_step=None, nesterov_step=None, steps=60):
    """Lesson 01: gradient descent, heavy-ball momentum and Nesterov on an ill-conditioned bowl.

    Pass the student's functions; any that still raise NotImplementedError are replaced by the
    reference (with a printed note), so the view always works.
    """
    point, grad = np.zeros(2), np.ones(2)
    gd = implemented_or_reference(gd_step, sgd.gd_step, lambda step: step(point, grad, 0.1))
    momentum_probe = lambda step: step(point, grad, None, 0.1, 0.9)  # noqa: E731
    heavy_ball = implemented_or_reference(heavy_ball_step, sgd.heavy_ball_step, momentum_probe)
    nesterov = implemented_or_reference(nesterov_step, sgd.nesterov_step, momentum_probe)
    controls = {
        "lr": learning_rate_slider(0.5),
        "momentum": ipywidgets.FloatSlider(value=0.8, min=0.0, max=0.99, step=0.01, description="momentum β"),
        "kappa": ipywidgets.FloatLogSlider(value=30.0, base=10, min=0, max=3, step=0.05,
                                           description="condition κ", readout_format=".3g"),
    }

    def optimizers_for(v):
        lr, beta = v["lr"], v["momentum"]
        return {
            "gradient descent": lambda p, g, state: (gd(p, g, lr), state),
            "heavy-ball momentum": lambda p, g, buf: heavy_ball(p, g, buf, lr, beta),
            "Nesterov": lambda p, g, buf: nesterov(p, g, buf, lr, beta),
        }

    return PathExplorer(controls, lambda v: landscapes.quadratic(v["kappa"]), optimizers_for, steps=steps,
                        title="Momentum")
