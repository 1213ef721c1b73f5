"""What the interactive views share: the View base class, rendering, sliders, and trajectories on a 2-D landscape."""

import abc
import io

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, LogLocator, MaxNLocator

from reference_impl import landscapes

from ..style import PALETTE


def view_figure(size, columns=1, width_ratios=None, **margins):
    """A figure of `columns` axes side by side, on its own Agg canvas (no pyplot state is touched).

    72 dpi is the size a notebook shows it at. `margins` go to `subplots_adjust` (left, right, bottom,
    top, wspace). Returns ``(figure, axes)``, `axes` a single Axes when `columns` is 1.
    """
    figure = Figure(figsize=size, dpi=72)
    figure.subplots_adjust(**margins)
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, columns, width_ratios=width_ratios)


def quick_to_draw(*axes_list, ticks=5) -> None:
    """Make axes cheap to redraw; call once their scales are set (setting a scale resets the tick locators).

    Text is most of a redraw's cost (profiled: tick labels, titles and legends take 90% of it, the data
    lines almost nothing). So: at most `ticks` major ticks per axis (positions set by hand are kept), no
    minor ticks (a log axis over ten decades carries 80 of them), and the title at a fixed height instead of
    one measured against the tick labels on every draw (none of these axes has labels on top).
    """
    for axes in axes_list:
        axes.minorticks_off()
        for axis in (axes.xaxis, axes.yaxis):
            if not isinstance(axis.get_major_locator(), FixedLocator):
                axis.set_major_locator(LogLocator(numticks=ticks) if axis.get_scale() == "log" else MaxNLocator(ticks))
        axes.set_title(axes.get_title(), y=1.0)


def log_limits(*arrays, at_least=(0.1, 10.0), margin=2.0):
    """Limits of a log axis showing every positive finite value of `arrays` and at least the range `at_least`.

    With minor ticks off, a log axis narrower than a decade would show one labelled tick or none; a fixed
    minimum range also keeps "close to 1" looking close to 1 instead of stretched over the whole panel.
    """
    values = np.concatenate([np.ravel(np.asarray(array, dtype=float)) for array in arrays])
    shown = values[np.isfinite(values) & (values > 0)]
    low, high = at_least
    if shown.size:
        low, high = min(low, shown.min()), max(high, shown.max())
    return low / margin, high * margin


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes.

    Compression level 1 instead of PIL's 6: a third of the encoding time for a file a few percent larger,
    which a local kernel sends to the browser in no time.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


# A slider's track needs room to be dragged with some precision; rows of controls wrap instead of squeezing.
SLIDER_WIDTH = "400px"


def controls_row(inputs) -> ipywidgets.Box:
    """The inputs side by side, wrapping onto more lines in a narrow notebook; each slider SLIDER_WIDTH wide."""
    sliders = (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider, ipywidgets.SelectionSlider)
    for widget in inputs:
        if isinstance(widget, sliders) and widget.layout.width is None:
            widget.layout.width = SLIDER_WIDTH
    return ipywidgets.HBox(list(inputs), layout=ipywidgets.Layout(flex_flow="row wrap"))


class View(abc.ABC):
    """An interactive view: its controls in a row above a picture (`image`) and a readout (`readout`), all in `widget`.

    A subclass builds its matplotlib `figure` (see `view_figure`) and its controls, then calls
    ``super().__init__(figure, controls, options)`` last: that lays out `widget`, redraws on every change of a
    control's value and draws the first picture. `controls` are the sliders and `options` the menus, toggles and
    check boxes, each a dict ``{name: widget}``: tests and benchmarks move each through its values (`view_moves`).
    The subclass implements `update()`, which draws the controls' current values into the figure and ends with
    `show(readout)`. A view whose controls are not one row overrides `observed_widgets` and `control_panel`
    (lesson 04's, whose `menu` swaps the row shown). Display `view.widget` in a notebook.
    """

    # A menu whose choice swaps `controls` and `options` for another set (lesson 04's schedules); None elsewhere.
    menu = None

    def __init__(self, figure, controls, options=None):
        self.figure = figure
        self.controls, self.options = controls, options or {}
        self.image = ipywidgets.Image(format="png")
        self.readout = ipywidgets.HTML()
        # No debounce here: while a slider's change is still unanswered, JupyterLab's widget manager keeps only
        # the newest value and sends it when the kernel is idle again, so a fast drag costs one redraw per
        # round trip, never a queue of stale ones.
        for widget in self.observed_widgets():
            widget.observe(lambda _change: self.update(), names="value")
        self.widget = ipywidgets.VBox([self.control_panel(), self.image, self.readout])
        self.update()

    def observed_widgets(self) -> list:
        """Every widget whose change of value redraws the view."""
        return [*self.controls.values(), *self.options.values()]

    def control_panel(self) -> ipywidgets.Widget:
        """What the view shows above its picture: its observed widgets in a row."""
        return controls_row(self.observed_widgets())

    def values(self) -> dict:
        """``{name: value}`` of the controls and options shown."""
        return {name: widget.value for name, widget in {**self.controls, **self.options}.items()}

    @abc.abstractmethod
    def update(self) -> None:
        """Draw the current values of the controls into the figure, then `show` it with its readout."""

    def show(self, readout: str) -> None:
        """Put the figure as drawn now into `image`, and `readout` (HTML) below it."""
        self.image.value = render_png(self.figure)
        self.readout.value = readout


class PathExplorer(View):
    """Trajectories of several optimizers on a 2-D landscape (lessons 01 and 02).

    `landscape_for(values)` returns the Landscape and `optimizers_for(values)` a dict
    ``{label: step(point, grad, state) -> (point, state)}``, both given the controls' current values
    as a dict.
    """

    def __init__(self, controls, landscape_for, optimizers_for, steps=60, title="", grid=60, show_step_sizes=False):
        self.landscape_for = landscape_for
        self.optimizers_for = optimizers_for
        self.steps = steps
        self.title = title
        self.grid = grid
        width_ratios = (1.4, 1, 1) if show_step_sizes else (1.4, 1)
        figure, (self.path_axes, self.loss_axes, *step_axes) = view_figure(
            (14.0 if show_step_sizes else 9.5, 3.8),
            len(width_ratios),
            width_ratios,
            left=0.05 if show_step_sizes else 0.07,
            right=0.98,
            bottom=0.13,
            top=0.92,
            wspace=0.25,
        )
        # Optional third panel: per coordinate, |Δp| / |g|, the learning rate plain gradient descent
        # would need to make the same move; constant for gradient descent, adapted by RMSprop and Adam.
        self.step_size_axes = step_axes[0] if step_axes else None
        self.path_axes.set(xlabel="x", ylabel="y")
        (self._minimum_marker,) = self.path_axes.plot(
            [], [], marker="*", color="black", markersize=12, linestyle="none", label="minimum"
        )
        self.loss_axes.set(xlabel="step", ylabel="loss − minimum (log scale)", title="Loss by step", yscale="log")
        if self.step_size_axes is not None:
            self.step_size_axes.set(
                xlabel="step",
                ylabel="effective step size |Δp| / |g| (log)",
                yscale="log",
                title="Per-coordinate step size (solid x, dashed y)",
            )
        for axes in self._curve_axes():
            axes.set_xlim(0, steps)
            axes.grid(True, which="major", alpha=0.3)
        quick_to_draw(self.path_axes, *self._curve_axes())
        self._contours, self._drawn_landscape = None, None
        self._path_lines, self._loss_lines, self._step_size_lines = {}, {}, {}
        self.paths = {}
        super().__init__(figure, controls)

    def update(self) -> None:
        values = self.values()
        landscape = self.landscape_for(values)
        self.paths = {
            label: landscapes.descend(landscape, step, self.steps)
            for label, step in self.optimizers_for(values).items()
        }
        self._draw(landscape)
        final = ", ".join(f"{label}: {landscape.loss(path[-1]):.3g}" for label, path in self.paths.items())
        self.show(f"<b>Loss after {self.steps} steps</b> — {final}")

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
        for axes in self._curve_axes():
            axes.set_ylim(log_limits(*(line.get_ydata() for line in axes.get_lines())))

    def _curve_axes(self):
        """The panels of curves by step: loss, and step sizes when shown."""
        return [axes for axes in (self.loss_axes, self.step_size_axes) if axes is not None]

    def _draw_surface(self, landscape) -> None:
        (x_min, x_max), (y_min, y_max) = landscape.bounds
        xs, ys = np.linspace(x_min, x_max, self.grid), np.linspace(y_min, y_max, self.grid)
        surface = landscape.loss(np.stack(np.meshgrid(xs, ys), axis=-1))
        if self._contours is not None:
            self._contours.remove()
        # zorder below the paths: a new contour set is drawn after the existing lines at equal zorder.
        self._contours = self.path_axes.contour(
            xs, ys, np.log1p(surface - surface.min()), levels=15, colors="0.75", linewidths=0.8, zorder=1
        )
        self._minimum_marker.set_data([landscape.minimum[0]], [landscape.minimum[1]])
        self.path_axes.set(xlim=(x_min, x_max), ylim=(y_min, y_max))
        self.path_axes.set_title(f"{self.title}: paths on {landscape.name}")
        self._drawn_landscape = landscape.name

    def _create_lines(self) -> None:
        step_size_lines = [line for pair in self._step_size_lines.values() for line in pair]
        for line in [*self._path_lines.values(), *self._loss_lines.values(), *step_size_lines]:
            line.remove()
        self._path_lines, self._loss_lines, self._step_size_lines = {}, {}, {}
        for color, label in zip(PALETTE, self.paths):
            (self._path_lines[label],) = self.path_axes.plot(
                [], [], marker="o", markersize=2.5, linewidth=1.3, color=color, label=label
            )
            (self._loss_lines[label],) = self.loss_axes.plot([], [], color=color, label=label)
            if self.step_size_axes is not None:
                # Solid x, dashed y (the panel's title says so); the labels match the paths' legend.
                self._step_size_lines[label] = [
                    self.step_size_axes.plot([], [], color=color, linestyle=style, label=label)[0]
                    for style in ("-", "--")
                ]
        self.path_axes.legend(loc="lower right", fontsize=8)


def effective_step_sizes(landscape, path):
    """|p_t − p_(t−1)| / |∇f(p_(t−1))| per coordinate, shaped (steps, 2); NaN where the gradient vanishes."""
    gradients = np.abs(landscape.grad(path[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gradients > 1e-12, np.abs(np.diff(path, axis=0)) / gradients, np.nan)


def control_values(control, count=15):
    """Values a student can give `control`, spread over its range: `count` of a slider's positions end to end
    (evenly in the exponent for a log slider), every choice of a menu, toggle or selection slider."""
    if isinstance(control, ipywidgets.Checkbox):
        return [False, True]
    if hasattr(control, "options"):
        return list(control.options)
    if isinstance(control, ipywidgets.FloatLogSlider):
        return list(np.logspace(control.min, control.max, count, base=control.base))
    values = np.linspace(control.min, control.max, count)
    if isinstance(control, ipywidgets.IntSlider):
        return sorted({int(round(value)) for value in values})
    return list(values)


def view_moves(view, count=15):
    """Every move a student can make in `view`, as ``(description, control, value)``; the caller sets
    ``control.value = value``.

    Each control takes each of its `control_values` in turn and is put back before the next one moves. A view
    with a menu of control sets (`view.menu`) moves the menu through its choices, then each set's controls.
    """
    menu = view.menu
    if menu is None:
        yield from _control_moves({**view.controls, **view.options}, count)
        return
    yield from _control_moves({menu.description: menu}, count)
    original = menu.value
    for choice in menu.options:
        menu.value = choice
        for description, control, value in _control_moves({**view.controls, **view.options}, count):
            yield f"{choice}: {description}", control, value
    menu.value = original


def _control_moves(controls, count):
    for name, control in controls.items():
        original = control.value
        for value in control_values(control, count):
            yield f"{name} → {value:.3g}" if isinstance(value, float) else f"{name} → {value!r}", control, value
        control.value = original


def learning_rate_slider(value, low=1e-3, high=3.0, description="learning rate"):
    """A log-scale slider between `low` and `high`: a learning rate's unless `description` names another value."""
    return ipywidgets.FloatLogSlider(
        value=value,
        base=10,
        min=np.log10(low),
        max=np.log10(high),
        step=0.05,
        description=description,
        readout_format=".3g",
        continuous_update=True,
        style={"description_width": "initial"},
    )
