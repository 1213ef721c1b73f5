"""Shared pieces of the interactive views: rendering, palette, sliders, and trajectories on a 2-D landscape."""
import io

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import landscapes


# Okabe-Ito palette: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

# A loss this many times the first one counts as diverged (the views stop drawing there).
DIVERGENCE_FACTOR = 100.0


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (Agg canvas; no pyplot state is touched)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def connect_view(view, inputs) -> None:
    """Give `view` an image, a readout and a widget (the inputs in a row above them), and redraw on any change.

    `view.update()` draws the inputs' current values into `view.image` and `view.readout`; it runs once now.
    """
    inputs = list(inputs)
    view.image = ipywidgets.Image(format="png")
    view.readout = ipywidgets.HTML()
    for widget in inputs:
        widget.observe(lambda _change: view.update(), names="value")
    view.widget = ipywidgets.VBox([ipywidgets.HBox(inputs), view.image, view.readout])
    view.update()


class PathExplorer:
    """Trajectories of several optimizers on a 2-D landscape, redrawn whenever a control moves.

    `landscape_for(values)` returns the Landscape and `optimizers_for(values)` a dict
    ``{label: step(point, grad, state) -> (point, state)}``, both given the controls' current values
    as a dict. Display `explorer.widget`; call `explorer.update()` to redraw by hand.
    """

    def __init__(self, controls, landscape_for, optimizers_for, steps=60, title="", grid=60, show_step_sizes=False):
        self.controls = controls
        self.landscape_for = landscape_for
        self.optimizers_for = optimizers_for
        self.steps = steps
        self.title = title
        self.grid = grid
        self.figure = Figure(figsize=(14.0 if show_step_sizes else 9.5, 3.8), dpi=72)
        self.figure.subplots_adjust(left=0.05 if show_step_sizes else 0.07, right=0.98, bottom=0.13, top=0.92,
                                    wspace=0.25)
        FigureCanvasAgg(self.figure)
        width_ratios = (1.4, 1, 1) if show_step_sizes else (1.4, 1)
        self.path_axes, self.loss_axes, *step_axes = self.figure.subplots(1, len(width_ratios),
                                                                          width_ratios=width_ratios)
        # Optional third panel: per coordinate, |Δp| / |g|, the learning rate plain gradient descent
        # would need to make the same move; constant for gradient descent, adapted by RMSprop and Adam.
        self.step_size_axes = step_axes[0] if step_axes else None
        if self.step_size_axes is not None:
            self.step_size_axes.set(xlabel="step", ylabel="effective step size |Δp| / |g| (log)", yscale="log",
                                    title="Per-coordinate step size (solid x, dashed y)")
            self.step_size_axes.grid(True, which="major", alpha=0.3)
        self.path_axes.set(xlabel="x", ylabel="y")
        (self._minimum_marker,) = self.path_axes.plot([], [], marker="*", color="black", markersize=12,
                                                      linestyle="none", label="minimum")
        self.loss_axes.set(xlabel="step", ylabel="loss − minimum (log scale)", title="Loss by step", yscale="log")
        self.loss_axes.grid(True, which="major", alpha=0.3)
        self._contours, self._drawn_landscape = None, None
        self._path_lines, self._loss_lines, self._step_size_lines = {}, {}, {}
        self.paths = {}
        connect_view(self, controls.values())

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
            if self.step_size_axes is not None:
                step_sizes = effective_step_sizes(landscape, path)
                for line, coordinate in zip(self._step_size_lines[label], step_sizes.T):
                    line.set_data(np.arange(1, len(path)), coordinate)
        for axes in (self.loss_axes, self.step_size_axes):
            if axes is not None:
                axes.relim()
                axes.autoscale_view()

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
        step_size_lines = [line for pair in self._step_size_lines.values() for line in pair]
        for line in [*self._path_lines.values(), *self._loss_lines.values(), *step_size_lines]:
            line.remove()
        self._path_lines, self._loss_lines, self._step_size_lines = {}, {}, {}
        for color, label in zip(PALETTE, self.paths):
            (self._path_lines[label],) = self.path_axes.plot([], [], marker="o", markersize=2.5, linewidth=1.3,
                                                             color=color, label=label)
            (self._loss_lines[label],) = self.loss_axes.plot([], [], color=color, label=label)
            if self.step_size_axes is not None:
                self._step_size_lines[label] = [self.step_size_axes.plot([], [], color=color, linestyle=style,
                                                                         label=f"{label}, {axis}")[0]
                                                for axis, style in (("x", "-"), ("y", "--"))]
        self.path_axes.legend(loc="lower right", fontsize=8)


def effective_step_sizes(landscape, path):
    """|p_t − p_(t−1)| / |∇f(p_(t−1))| per coordinate, shaped (steps, 2); NaN where the gradient vanishes."""
    gradients = np.abs(landscape.grad(path[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gradients > 1e-12, np.abs(np.diff(path, axis=0)) / gradients, np.nan)


def learning_rate_slider(value, low=1e-3, high=3.0, description="learning rate"):
    """A log-scale slider for a learning rate between `low` and `high`."""
    return ipywidgets.FloatLogSlider(
        value=value, base=10, min=np.log10(low), max=np.log10(high), step=0.05,
        description=description, readout_format=".3g", continuous_update=True,
        style={"description_width": "initial"},
    )
