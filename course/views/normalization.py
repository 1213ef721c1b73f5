"""Lesson 06: batch, layer and group norm side by side, and dropout on an overfitting net."""

import ipywidgets
import numpy as np

from reference_impl import norms, regularization

from ..data import load_mnist1d
from ..experiments.normalization import (
    batch_mates_spread,
    batch_norm_output,
    conv_feature_maps,
    dropout_training_curves,
)
from ..fallback import implemented_or_reference
from ..settings import sized
from .base import PALETTE, View, quick_to_draw, view_figure


class NormExplorer(View):
    """Lesson 06: one example's normalized feature map under batch, layer and group norm, by batch size.

    Slider (`controls["batch_size"]`): how many examples share the batch with example 0, over the powers of
    two of the second panel; the toggle (`options["groups"]`) sets group norm's number of groups. Batch norm's
    output for example 0 moves with its batch-mates; layer and group norm's do not. The second panel measures that
    dependence.
    """

    DEPENDENCE_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)

    def __init__(self, layer_norm, group_norm, features, seed=0):
        self.layer_norm, self.group_norm, self.features = layer_norm, group_norm, features
        self.order = np.random.default_rng(seed).permutation(np.arange(1, len(features)))  # example 0's batch-mates
        channels = features.shape[1]
        controls = {
            "batch_size": ipywidgets.SelectionSlider(
                options=self.DEPENDENCE_BATCH_SIZES,
                value=4,
                description="batch size",
                style={"description_width": "initial"},
            )
        }
        options = {
            "groups": ipywidgets.ToggleButtons(
                options=[g for g in (1, 2, 4, 8) if channels % g == 0], value=2, description="GN groups"
            )
        }
        figure, (self.output_axes, self.dependence_axes) = view_figure(
            (12.0, 3.6), 2, (1.4, 1), left=0.06, right=0.98, bottom=0.15, top=0.9, wspace=0.25
        )
        positions = np.arange(features.shape[2])
        self._lines = {
            name: self.output_axes.plot(
                positions, np.zeros_like(positions, dtype=float), color=color, label=name, linestyle=style
            )[0]
            for name, color, style in (
                ("batch norm", PALETTE[0], "-"),
                ("layer norm", PALETTE[1], "--"),
                ("group norm", PALETTE[2], ":"),
            )
        }
        self.output_axes.set(
            xlabel="position (channel 0 of example 0)",
            ylabel="normalized value",
            title="Example 0 after each normalization",
        )
        self.output_axes.legend(loc="upper right", fontsize=8)
        self.output_axes.grid(True, alpha=0.3)
        spread = batch_mates_spread(features, self.DEPENDENCE_BATCH_SIZES, seed=seed + 1)
        self.dependence_axes.plot(
            self.DEPENDENCE_BATCH_SIZES, spread, color=PALETTE[0], marker="o", markersize=3, label="batch norm"
        )
        self.dependence_axes.plot(
            self.DEPENDENCE_BATCH_SIZES,
            np.zeros(len(spread)),
            color=PALETTE[1],
            marker="o",
            markersize=3,
            label="layer and group norm",
        )
        (self._marker,) = self.dependence_axes.plot(
            [], [], marker="*", markersize=14, color=PALETTE[4], linestyle="none", label="this batch size"
        )
        self.dependence_axes.set(
            xscale="log",
            xlabel="batch size (log scale)",
            ylabel="std of example 0's output over batches",
            title="How much the batch-mates matter",
        )
        self.dependence_axes.set_xticks(self.DEPENDENCE_BATCH_SIZES, [str(s) for s in self.DEPENDENCE_BATCH_SIZES])
        self.dependence_axes.legend(loc="upper right", fontsize=8)
        self.dependence_axes.grid(True, alpha=0.3)
        quick_to_draw(self.output_axes, self.dependence_axes)
        self._spread = dict(zip(self.DEPENDENCE_BATCH_SIZES, spread))
        super().__init__(figure, controls, options)

    def outputs(self):
        """{norm name: example 0's normalized feature map} for the current batch size and groups."""
        size, groups = int(self.controls["batch_size"].value), self.options["groups"].value
        batch = self.features[np.r_[0, self.order[: size - 1]]]
        channels, positions = batch.shape[1:]
        return {
            "batch norm": batch_norm_output(batch)[0],
            "layer norm": np.asarray(
                self.layer_norm(batch, np.ones((channels, positions)), np.zeros((channels, positions)))[0]
            )[0],
            "group norm": np.asarray(self.group_norm(batch, groups, np.ones(channels), np.zeros(channels)))[0],
        }

    def update(self) -> None:
        size, groups = int(self.controls["batch_size"].value), self.options["groups"].value
        self.shown = self.outputs()
        for name, output in self.shown.items():
            self._lines[name].set_ydata(output[0])
        self.output_axes.relim()
        self.output_axes.autoscale_view()
        self._marker.set_data([size], [self._spread[size]])
        gap = np.abs(self.shown["batch norm"] - self.shown["layer norm"]).mean()
        self.show(
            f"Batch size {size}, group norm with {groups} group(s). Example 0's batch-norm output differs "
            f"from its layer-norm output by {gap:.3f} on average; layer and group norm never look at the other "
            "examples."
        )


def norm_explorer(layer_norm_forward=None, group_norm=None, data=None):
    """Lesson 06: batch vs layer vs group norm on conv feature maps, as the batch size changes.

    Pass the student's `layer_norm_forward(x, gamma, beta)` (returning (out, cache)) and
    `group_norm(x, num_groups, gamma, beta)`; while they raise NotImplementedError the reference
    stands in (with a printed note).
    """
    x = np.ones((2, 2, 3))
    layer_norm = implemented_or_reference(
        layer_norm_forward, norms.layer_norm_forward, lambda f: f(x, np.ones((2, 3)), np.zeros((2, 3)))
    )
    groups = implemented_or_reference(
        group_norm,
        lambda x, g, gamma, beta: norms.group_norm_forward(x, g, gamma, beta)[0],
        lambda f: f(x, 1, np.ones(2), np.zeros(2)),
    )
    return NormExplorer(layer_norm, groups, conv_feature_maps(load_mnist1d() if data is None else data))


class DropoutExplorer(View):
    """Lesson 06: train and validation loss of an overfitting MLP as the dropout rate changes.

    Every rate on the slider's grid is trained once, up front, so moving the slider only redraws.
    """

    def __init__(self, curves_for_rate, rates):
        self.rates = tuple(rates)
        self.curves = {rate: curves_for_rate(rate) for rate in self.rates}
        step = self.rates[1] - self.rates[0]
        controls = {
            "p": ipywidgets.FloatSlider(
                value=self.rates[0],
                min=self.rates[0],
                max=self.rates[-1],
                step=step,
                description="dropout p",
                style={"description_width": "initial"},
            )
        }
        figure, (self.curve_axes, self.rate_axes) = view_figure(
            (12.0, 3.6), 2, left=0.06, right=0.98, bottom=0.15, top=0.9, wspace=0.25
        )
        baseline = self.curves[self.rates[0]]
        self.curve_axes.plot(
            baseline["step"],
            baseline["val_loss"],
            color=PALETTE[6],
            linewidth=0.8,
            alpha=0.5,
            label=f"validation, p = {self.rates[0]:g}",
        )
        (self._train_line,) = self.curve_axes.plot([], [], color=PALETTE[0], label="train")
        (self._val_line,) = self.curve_axes.plot([], [], color=PALETTE[1], label="validation")
        self.curve_axes.set(xlabel="step", ylabel="loss (evaluation mode)", title="Loss curves at this dropout rate")
        self.curve_axes.legend(loc="upper right", fontsize=8)
        self.curve_axes.grid(True, alpha=0.3)
        finals = {kind: [self.curves[rate][kind][-1] for rate in self.rates] for kind in ("train_loss", "val_loss")}
        self.rate_axes.plot(
            self.rates, finals["train_loss"], color=PALETTE[0], marker="o", markersize=3, label="final train loss"
        )
        self.rate_axes.plot(
            self.rates, finals["val_loss"], color=PALETTE[1], marker="o", markersize=3, label="final validation loss"
        )
        (self._marker,) = self.rate_axes.plot(
            [], [], marker="*", markersize=14, color=PALETTE[4], linestyle="none", label="this rate"
        )
        self.rate_axes.set(xlabel="dropout rate p", ylabel="loss after training", title="Final losses by rate")
        self.rate_axes.legend(loc="upper left", fontsize=8)
        self.rate_axes.grid(True, alpha=0.3)
        quick_to_draw(self.curve_axes, self.rate_axes)
        super().__init__(figure, controls)

    def update(self) -> None:
        rate = min(self.rates, key=lambda r: abs(r - self.controls["p"].value))  # the grid point trained
        history = self.curves[rate]
        self._train_line.set_data(history["step"], history["train_loss"])
        self._val_line.set_data(history["step"], history["val_loss"])
        self.curve_axes.relim()
        self.curve_axes.autoscale_view()
        self._marker.set_data([rate], [history["val_loss"][-1]])
        train_loss, val_loss = history["train_loss"][-1], history["val_loss"][-1]
        self.show(
            f"p = {rate:g}: final train loss {train_loss:.3f}, validation loss {val_loss:.3f} "
            f"(gap {val_loss - train_loss:.3f})."
        )


# The dropout rates trained, one slider position each: 0 to 0.5 in steps of 0.05.
DROPOUT_RATES = tuple(np.round(np.arange(0, 0.51, 0.05), 2))


def dropout_explorer(dropout=None, data=None, steps=None, rates=DROPOUT_RATES):
    """Lesson 06: a dropout-rate slider on a small overfitting net, train vs validation loss.

    Pass the student's `dropout(x, p, training, rng)`; while it raises NotImplementedError the reference
    stands in (with a printed note). All `rates` are trained for `steps` steps (300, or 20 in fast mode) when the
    view is built.
    """
    steps = sized(20, 300) if steps is None else steps
    rule = implemented_or_reference(
        dropout, regularization.dropout, lambda f: f(np.ones(4), 0.5, True, np.random.default_rng(0))
    )
    data = load_mnist1d() if data is None else data
    return DropoutExplorer(lambda p: dropout_training_curves(rule, p, data, steps), rates)
