"""Lesson 03: pre-activations before and after batch norm, and the train/eval gap."""

import ipywidgets
import numpy as np

from reference_impl import norms

from ..data import load_mnist1d
from ..experiments.batch_norm import hidden_pre_activations, train_eval_gap
from ..fallback import implemented_or_reference
from .base import PALETTE, View, quick_to_draw, view_figure


class BatchNormExplorer(View):
    """Lesson 03: a hidden unit's pre-activations before and after batch norm, in training or evaluation mode.

    Sliders (`controls`): batch size (the powers of two of the third panel), and the shift and scale applied
    to the `pre_activations`; the toggle (`options["mode"]`) picks which mode's outputs are shown. Training mode
    normalizes each value with its own minibatch's statistics; evaluation mode with the running statistics
    gathered while training. The third panel shows how far apart the two are, by batch size.
    """

    GAP_BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)

    def __init__(self, batch_norm, pre_activations):
        self.batch_norm = batch_norm
        self.pre_activations = pre_activations
        controls = {
            "batch_size": ipywidgets.SelectionSlider(
                options=self.GAP_BATCH_SIZES, value=8, description="batch size", style={"description_width": "initial"}
            ),
            "shift": ipywidgets.FloatSlider(
                value=0.0,
                min=-10.0,
                max=10.0,
                step=0.5,
                description="input shift",
                style={"description_width": "initial"},
            ),
            "scale": ipywidgets.FloatLogSlider(
                value=1.0,
                base=10,
                min=-1,
                max=2,
                step=0.05,
                description="input scale",
                readout_format=".3g",
                style={"description_width": "initial"},
            ),
        }
        options = {"mode": ipywidgets.ToggleButtons(options=["train", "eval"], value="train", description="mode")}
        figure, (self.before_axes, self.after_axes, self.gap_axes) = view_figure(
            (13.0, 3.6), 3, left=0.05, right=0.98, bottom=0.15, top=0.9, wspace=0.28
        )
        self._before = self.before_axes.stairs(
            np.zeros(40), np.linspace(0, 1, 41), fill=True, color=PALETTE[0], alpha=0.7, label="pre-activations"
        )
        self.before_axes.set(
            xlabel="pre-activation (shift + scale · unit)", ylabel="density", title="Before batch norm"
        )
        self.after_edges = np.linspace(-4, 4, 41)
        self._after = self.after_axes.stairs(
            np.zeros(40), self.after_edges, fill=True, color=PALETTE[1], alpha=0.7, label="batch norm output"
        )
        grid = np.linspace(-4, 4, 200)
        self.after_axes.plot(
            grid,
            np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi),
            color=PALETTE[6],
            linestyle="--",
            linewidth=1,
            label="standard normal",
        )
        self.after_axes.set(xlabel="output (γ = 1, β = 0)", ylabel="density", xlim=(-4, 4), ylim=(0, 0.8))
        self.after_axes.legend(loc="upper right", fontsize=8)
        # BN is invariant to the input's shift and scale, so one curve serves every slider setting.
        gaps = [train_eval_gap(batch_norm, pre_activations, size)[0] for size in self.GAP_BATCH_SIZES]
        self.gap_axes.plot(
            self.GAP_BATCH_SIZES, gaps, color=PALETTE[2], marker="o", markersize=3, label="mean |train − eval| output"
        )
        (self._gap_marker,) = self.gap_axes.plot(
            [], [], marker="*", markersize=14, color=PALETTE[1], linestyle="none", label="this batch size"
        )
        self.gap_axes.set(
            xscale="log",
            xlabel="batch size (log scale)",
            ylabel="mean |train − eval| (in units of σ)",
            title="Train/eval gap by batch size",
        )
        self.gap_axes.set_xticks(self.GAP_BATCH_SIZES[::2], [str(size) for size in self.GAP_BATCH_SIZES[::2]])
        self.gap_axes.legend(loc="upper right", fontsize=8)
        self.gap_axes.grid(True, alpha=0.3)
        self.before_axes.legend(loc="upper right", fontsize=8)
        quick_to_draw(self.before_axes, self.after_axes, self.gap_axes, ticks=4)
        super().__init__(figure, controls, options)

    def update(self) -> None:
        batch_size, mode = self.controls["batch_size"].value, self.options["mode"].value
        inputs = self.controls["shift"].value + self.controls["scale"].value * self.pre_activations
        self.gap, train_outputs, eval_outputs = train_eval_gap(self.batch_norm, inputs, batch_size)
        self.outputs = train_outputs if mode == "train" else eval_outputs
        counts, edges = np.histogram(inputs, bins=40, density=True)
        self._before.set_data(counts, edges)
        self.before_axes.set(xlim=(edges[0], edges[-1]), ylim=(0, counts.max() * 1.15))
        shown = self.outputs[np.isfinite(self.outputs)]
        self._after.set_data(np.histogram(shown, bins=self.after_edges, density=True)[0], self.after_edges)
        self.after_axes.set_title(f"After batch norm ({mode} mode, batch size {batch_size})")
        self._gap_marker.set_data([batch_size], [self.gap])
        self.show(
            f"Input mean {inputs.mean():.3g}, std {inputs.std():.3g} → "
            f"output mean {shown.mean():.3f}, std {shown.std():.3f} ({mode} mode). "
            f"Training-mode outputs differ from evaluation-mode outputs by {self.gap:.3f} σ "
            f"on average at batch size {batch_size}."
        )


def batch_norm_explorer(batch_norm=None, data=None):
    """Lesson 03: pre-activation distributions before and after batch norm, and the train/eval gap.

    Pass the student's `batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps)`;
    while it raises NotImplementedError the reference stands in (with a printed note). `data` defaults
    to MNIST-1D, whose inputs feed the random hidden unit.
    """

    def probe(rule):
        rule(np.array([[0.0], [1.0]]), np.ones(1), np.zeros(1), np.zeros(1), np.ones(1), True)

    rule = implemented_or_reference(batch_norm, norms.batch_norm, probe)
    return BatchNormExplorer(rule, hidden_pre_activations(load_mnist1d() if data is None else data))
