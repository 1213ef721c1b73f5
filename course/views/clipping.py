"""Lesson 05: norm vs value clipping of a 2-D gradient, and training an RNN with clipping."""

import ipywidgets
import numpy as np
import torch

from reference_impl import clipping

from ..experiments.clipping import adding_problem_batches, rnn_training_run
from ..fallback import implemented_or_reference
from ..settings import sized
from .base import PALETTE, View, learning_rate_slider, log_limits, quick_to_draw, view_figure


def vector_angle_degrees(a, b):
    """Angle between two vectors in degrees (0 when either is zero)."""
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return 0.0 if norms == 0 else float(np.degrees(np.arccos(np.clip(np.dot(a, b) / norms, -1.0, 1.0))))


def clipped(clip, gradient, threshold):
    """The NumPy `gradient` as `clip(parameters, threshold)`, a torch-style in-place clipping function, leaves it.

    The gradient becomes the `.grad` of a placeholder parameter, so the student's own clipping function clips the
    vector the view draws.
    """
    parameter = torch.zeros(gradient.shape, dtype=torch.float64, requires_grad=True)
    parameter.grad = torch.tensor(gradient, dtype=torch.float64)
    clip([parameter], threshold)
    return parameter.grad.numpy()


class ClippingVectorExplorer(View):
    """A 2-D gradient and what norm clipping and value clipping make of it, with the angle value clipping turns.

    Sliders (`controls`): the gradient's direction and length, and the threshold c. The circle of
    radius c is where norm clipping puts long gradients; the square [-c, c]² is where value clipping does.
    """

    def __init__(self, clip_norm, clip_value):
        self.clip_norm, self.clip_value = clip_norm, clip_value
        controls = {
            "angle": ipywidgets.FloatSlider(
                value=20.0,
                min=0.0,
                max=360.0,
                step=1.0,
                description="direction (°)",
                style={"description_width": "initial"},
            ),
            "length": ipywidgets.FloatLogSlider(
                value=4.0,
                base=10,
                min=-1,
                max=1,
                step=0.02,
                description="gradient length",
                readout_format=".3g",
                style={"description_width": "initial"},
            ),
            "threshold": ipywidgets.FloatLogSlider(
                value=1.0,
                base=10,
                min=-1,
                max=np.log10(5.0),
                step=0.02,
                description="threshold c",
                readout_format=".3g",
                style={"description_width": "initial"},
            ),
        }
        figure, self.axes = view_figure((6.0, 5.0), left=0.13, right=0.97, bottom=0.12, top=0.91)
        circle = np.linspace(0, 2 * np.pi, 121)
        self._unit_circle = np.stack([np.cos(circle), np.sin(circle)], axis=1)
        (self._circle,) = self.axes.plot(
            [], [], color=PALETTE[0], linestyle=":", linewidth=1, label="‖g‖ = c (norm clipping's limit)"
        )
        (self._square,) = self.axes.plot(
            [], [], color=PALETTE[1], linestyle=":", linewidth=1, label="|gᵢ| = c (value clipping's limit)"
        )
        self._arrows = {}
        for label, color, width in [
            ("gradient g", PALETTE[6], 2.5),
            ("norm-clipped", PALETTE[0], 2.0),
            ("value-clipped", PALETTE[1], 2.0),
        ]:
            (self._arrows[label],) = self.axes.plot(
                [], [], color=color, linewidth=width, marker="o", markevery=[1], label=label
            )
        self.axes.set(xlabel="g₁", ylabel="g₂", aspect="equal")
        self.axes.grid(True, alpha=0.3)
        self.axes.legend(loc="lower left", fontsize=8)
        quick_to_draw(self.axes)
        super().__init__(figure, controls)

    def update(self) -> None:
        angle, length = np.radians(self.controls["angle"].value), self.controls["length"].value
        threshold = self.controls["threshold"].value
        self.gradient = length * np.array([np.cos(angle), np.sin(angle)])
        self.norm_clipped = clipped(self.clip_norm, self.gradient, threshold)
        self.value_clipped = clipped(self.clip_value, self.gradient, threshold)
        for label, vector in [
            ("gradient g", self.gradient),
            ("norm-clipped", self.norm_clipped),
            ("value-clipped", self.value_clipped),
        ]:
            self._arrows[label].set_data([0.0, vector[0]], [0.0, vector[1]])
        self._circle.set_data(*(threshold * self._unit_circle).T)
        self._square.set_data(threshold * np.array([1, -1, -1, 1, 1]), threshold * np.array([1, 1, -1, -1, 1]))
        limit = 1.15 * max(length, threshold * np.sqrt(2))
        self.axes.set(xlim=(-limit, limit), ylim=(-limit, limit))
        self.angle = vector_angle_degrees(self.gradient, self.value_clipped)
        self.axes.set_title(f"Clipping at c = {threshold:.3g}: value clipping turns g by {self.angle:.1f}°")
        self.show(
            f"g = ({self.gradient[0]:.3g}, {self.gradient[1]:.3g}), ‖g‖ = {length:.3g}, c = {threshold:.3g}; "
            f"norm-clipped ‖g‖ = {np.linalg.norm(self.norm_clipped):.3g} "
            f"(turned by {vector_angle_degrees(self.gradient, self.norm_clipped):.1f}°); "
            f"value-clipped ‖g‖ = {np.linalg.norm(self.value_clipped):.3g} (turned by {self.angle:.1f}°)."
        )


class ClippedTrainingExplorer(View):
    """A recurrent net at a high learning rate, trained without clipping, with norm and with value clipping.

    Sliders (`controls`): learning rate, norm threshold and value threshold. Left: training loss by
    step (a curve that stops has diverged); right: the gradient norm before clipping, with the norm threshold.
    """

    def __init__(self, clip_norm, clip_value, inputs, targets, steps):
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.inputs, self.targets, self.steps = inputs, targets, steps
        self._cache = {}
        controls = {
            "lr": learning_rate_slider(0.3, low=0.01, high=3.0),
            "max_norm": ipywidgets.FloatLogSlider(
                value=1.0,
                base=10,
                min=-2,
                max=1,
                step=0.05,
                description="norm threshold",
                readout_format=".3g",
                style={"description_width": "initial"},
            ),
            "clip_value": ipywidgets.FloatLogSlider(
                value=0.1,
                base=10,
                min=-3,
                max=0,
                step=0.05,
                description="value threshold",
                readout_format=".3g",
                style={"description_width": "initial"},
            ),
        }
        figure, (self.loss_axes, self.norm_axes) = view_figure(
            (12.0, 3.8), 2, left=0.06, right=0.98, bottom=0.14, top=0.9, wspace=0.22
        )
        self._loss_lines, self._norm_lines = {}, {}
        for color, label in zip(PALETTE, ["no clipping", "norm clipping", "value clipping"]):
            (self._loss_lines[label],) = self.loss_axes.plot([], [], color=color, label=label)
            (self._norm_lines[label],) = self.norm_axes.plot([], [], color=color, label=label)
        self._threshold_line = self.norm_axes.axhline(
            1.0, color=PALETTE[6], linestyle=":", linewidth=1, label="norm threshold"
        )
        self.loss_axes.set(
            xlabel="step", ylabel="training loss (MSE, log scale)", yscale="log", title="Tanh RNN on the adding problem"
        )
        self.norm_axes.set(
            xlabel="step",
            ylabel="gradient norm before clipping (log scale)",
            yscale="log",
            title="Gradient norm by step",
        )
        for axes in (self.loss_axes, self.norm_axes):
            axes.grid(True, which="major", alpha=0.3)
            axes.set_xlim(0, steps)
            axes.legend(loc="upper right", fontsize=8)
        quick_to_draw(self.loss_axes, self.norm_axes)
        super().__init__(figure, controls)

    def update(self) -> None:
        lr, max_norm, clip_value = (self.controls[name].value for name in ("lr", "max_norm", "clip_value"))
        settings = {
            "no clipping": (None, None),
            "norm clipping": (self.clip_norm, max_norm),
            "value clipping": (self.clip_value, clip_value),
        }
        self.runs = {}
        for label, (clip, threshold) in settings.items():
            # A slider moves one setting at a time, so caching each run recomputes only the runs it changes.
            key = (label, lr, threshold)
            if key not in self._cache:
                self._cache[key] = rnn_training_run(self.inputs, self.targets, lr, self.steps, clip, threshold)
            self.runs[label] = self._cache[key]
        steps = np.arange(1, self.steps + 1)
        for label, (losses, grad_norms) in self.runs.items():
            self._loss_lines[label].set_data(steps, losses)
            self._norm_lines[label].set_data(steps, grad_norms)
        self._threshold_line.set_ydata([max_norm, max_norm])
        losses, grad_norms = zip(*self.runs.values())
        self.loss_axes.set_ylim(log_limits(*losses))
        self.norm_axes.set_ylim(log_limits(*grad_norms, [max_norm]))
        outcomes = []
        for label, (losses, _) in self.runs.items():
            finite = losses[np.isfinite(losses)]
            outcomes.append(
                f"{label}: "
                + (
                    f"final loss {finite[-10:].mean():.3g}"
                    if len(finite) == self.steps
                    else f"<b>diverged</b> at step {len(finite) + 1}"
                )
            )
        self.show(f"lr {lr:.3g} — " + "; ".join(outcomes))


def clipping_explorers(clip_grad_norm=None, clip_grad_value=None, steps=None, length=None, batch_size=32):
    """Lesson 05: the 2-D clipping picture and the recurrent net trained with and without clipping.

    Pass the student's functions (torch.nn.utils.clip_grad_norm_ / clip_grad_value_ signatures); any
    that raise NotImplementedError are replaced by the reference. The net trains for `steps` steps (40, or 20 in
    fast mode) on sequences of `length` (20, or 10 in fast mode). Returns ``(vector_view, training_view)``.
    """
    steps, length = sized(20, 40) if steps is None else steps, sized(10, 20) if length is None else length

    def probe(f):
        parameter = torch.zeros(2, requires_grad=True)
        parameter.grad = torch.ones(2)
        f([parameter], 1.0)

    clip_norm = implemented_or_reference(clip_grad_norm, clipping.clip_grad_norm, probe)
    clip_value = implemented_or_reference(clip_grad_value, clipping.clip_grad_value, probe)
    inputs, targets = adding_problem_batches(steps, batch_size, length)
    return (
        ClippingVectorExplorer(clip_norm, clip_value),
        ClippedTrainingExplorer(clip_norm, clip_value, inputs, targets, steps),
    )


def clipping_vector_explorer():
    """Lesson 05's first view as the notebook shows it, with the reference clipping functions."""
    return clipping_explorers()[0]


def clipping_training_explorer():
    """Lesson 05's second view as the notebook shows it, with the reference clipping functions."""
    return clipping_explorers()[1]
