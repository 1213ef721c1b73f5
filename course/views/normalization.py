"""Lesson 06: batch, layer and group norm side by side, and dropout on an overfitting net."""
import ipywidgets
import numpy as np
import torch
from torch import nn

from reference_impl import norms
from reference_impl import regularization
from ..data import load_mnist1d
from ..fallback import implemented_or_reference
from reference_impl.regularization import MaskDropout
from .base import PALETTE, connect_view, quick_to_draw, render_png, view_figure


def conv_feature_maps(data, count=512, channels=8, kernel=5, seed=0):
    """Feature maps of a random 1-D convolution + ReLU on MNIST-1D inputs: float64 (count, channels, positions).

    Stand-in for a conv net's hidden activations, the input a normalization layer sees.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(data["x"][:count], dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=1)  # (count, positions, kernel)
    filters = rng.normal(0, np.sqrt(2 / kernel), (channels, kernel))
    return np.maximum(np.einsum("npk,ck->ncp", windows, filters) + rng.normal(0, 0.5, (1, channels, 1)), 0.0)


class NormExplorer:
    """Lesson 06: one example's normalized feature map under batch, layer and group norm, by batch size.

    Slider (`controls["batch_size"]`): how many examples share the batch with example 0, over the powers of
    two of the second panel; the toggle
    (`options["groups"]`) sets group norm's number of groups. Batch norm's output for example 0 moves
    with its batch-mates; layer and group norm's do not. The second panel measures that dependence.
    """

    DEPENDENCE_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)

    def __init__(self, layer_norm, group_norm, features, draws=20, seed=0):

        self.layer_norm, self.group_norm, self.features = layer_norm, group_norm, features
        self.batch_norm = lambda x: norms.batch_norm_forward(x, np.ones(x.shape[1]), np.zeros(x.shape[1]))[0]
        self.order = np.random.default_rng(seed).permutation(np.arange(1, len(features)))
        channels = features.shape[1]
        self.controls = {"batch_size": ipywidgets.SelectionSlider(options=self.DEPENDENCE_BATCH_SIZES, value=4,
                                                                  description="batch size",
                                                                  style={"description_width": "initial"})}
        self.options = {"groups": ipywidgets.ToggleButtons(
            options=[g for g in (1, 2, 4, 8) if channels % g == 0], value=2, description="GN groups")}
        self.figure, (self.output_axes, self.dependence_axes) = view_figure(
            (12.0, 3.6), 2, (1.4, 1), left=0.06, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
        positions = np.arange(features.shape[2])
        self._lines = {name: self.output_axes.plot(positions, np.zeros_like(positions, dtype=float), color=color,
                                                   label=name, linestyle=style)[0]
                       for name, color, style in (("batch norm", PALETTE[0], "-"), ("layer norm", PALETTE[1], "--"),
                                                  ("group norm", PALETTE[2], ":"))}
        self.output_axes.set(xlabel="position (channel 0 of example 0)", ylabel="normalized value",
                             title="Example 0 after each normalization")
        self.output_axes.legend(loc="upper right", fontsize=8)
        self.output_axes.grid(True, alpha=0.3)
        # Spread over random batch-mates of example 0's batch-norm output; layer and group norm give 0 exactly.
        rng = np.random.default_rng(seed + 1)
        spread = []
        for size in self.DEPENDENCE_BATCH_SIZES:
            outputs = [self.batch_norm(features[np.r_[0, rng.choice(self.order, size - 1, replace=False)]])[0]
                       for _ in range(draws)]
            spread.append(float(np.std(outputs, axis=0).mean()))
        self.dependence_axes.plot(self.DEPENDENCE_BATCH_SIZES, spread, color=PALETTE[0], marker="o", markersize=3,
                                  label="batch norm")
        self.dependence_axes.plot(self.DEPENDENCE_BATCH_SIZES, np.zeros(len(spread)), color=PALETTE[1], marker="o",
                                  markersize=3, label="layer and group norm")
        (self._marker,) = self.dependence_axes.plot([], [], marker="*", markersize=14, color=PALETTE[4],
                                                    linestyle="none", label="this batch size")
        self.dependence_axes.set(xscale="log", xlabel="batch size (log scale)",
                                 ylabel="std of example 0's output over batches",
                                 title="How much the batch-mates matter")
        self.dependence_axes.set_xticks(self.DEPENDENCE_BATCH_SIZES, [str(s) for s in self.DEPENDENCE_BATCH_SIZES])
        self.dependence_axes.legend(loc="upper right", fontsize=8)
        self.dependence_axes.grid(True, alpha=0.3)
        quick_to_draw(self.output_axes, self.dependence_axes)
        self._spread = dict(zip(self.DEPENDENCE_BATCH_SIZES, spread))
        connect_view(self, [*self.controls.values(), *self.options.values()])

    def outputs(self):
        """{norm name: example 0's normalized feature map} for the current batch size and groups."""
        size, groups = int(self.controls["batch_size"].value), self.options["groups"].value
        batch = self.features[np.r_[0, self.order[:size - 1]]]
        channels, positions = batch.shape[1:]
        return {"batch norm": self.batch_norm(batch)[0],
                "layer norm": np.asarray(self.layer_norm(batch, np.ones((channels, positions)),
                                                         np.zeros((channels, positions)))[0])[0],
                "group norm": np.asarray(self.group_norm(batch, groups, np.ones(channels), np.zeros(channels)))[0]}

    def update(self) -> None:
        size, groups = int(self.controls["batch_size"].value), self.options["groups"].value
        self.shown = self.outputs()
        for name, output in self.shown.items():
            self._lines[name].set_ydata(output[0])
        self.output_axes.relim()
        self.output_axes.autoscale_view()
        self._marker.set_data([size], [self._spread[size]])
        self.image.value = render_png(self.figure)
        gap = np.abs(self.shown["batch norm"] - self.shown["layer norm"]).mean()
        self.readout.value = (f"Batch size {size}, group norm with {groups} group(s). Example 0's batch-norm output "
                              f"differs from its layer-norm output by {gap:.3f} on average; layer and group norm "
                              "never look at the other examples.")


def norm_explorer(layer_norm_forward=None, group_norm=None, data=None):
    """Lesson 06: batch vs layer vs group norm on conv feature maps, as the batch size changes.

    Pass the student's `layer_norm_forward(x, gamma, beta)` (returning (out, cache)) and
    `group_norm(x, num_groups, gamma, beta)`; while they raise NotImplementedError the reference
    stands in (with a printed note).
    """

    x = np.ones((2, 2, 3))
    layer_norm = implemented_or_reference(layer_norm_forward, norms.layer_norm_forward,
                                          lambda f: f(x, np.ones((2, 3)), np.zeros((2, 3))))
    groups = implemented_or_reference(group_norm, lambda x, g, gamma, beta: norms.group_norm_forward(x, g, gamma, beta)[0],
                                      lambda f: f(x, 1, np.ones(2), np.zeros(2)))
    return NormExplorer(layer_norm, groups, conv_feature_maps(load_mnist1d() if data is None else data))


def dropout_training_curves(dropout_fn, p, data, steps, train_size=256, hidden=256, eval_every=10, seed=0):
    """Train a wide MLP with dropout rate `p` on `train_size` MNIST-1D examples (made to overfit).

    Full-batch Adam (lr 1e-3) from the same initialization for every p; `dropout_fn` has the
    signature of `reference_impl.regularization.dropout` and makes the masks. Returns
    ``{"step", "train_loss", "test_loss"}`` (lists; losses in evaluation mode, every `eval_every` steps).
    """


    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(40, hidden), nn.ReLU(), MaskDropout(dropout_fn, p, seed),
                          nn.Linear(hidden, hidden), nn.ReLU(), MaskDropout(dropout_fn, p, seed + 1),
                          nn.Linear(hidden, 10))
    x, y = torch.as_tensor(data["x"][:train_size]), torch.as_tensor(data["y"][:train_size])
    x_test, y_test = torch.as_tensor(data["x_test"]), torch.as_tensor(data["y_test"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    history = {"step": [], "train_loss": [], "test_loss": []}
    for step in range(1, steps + 1):
        model.train()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        if step % eval_every == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                history["step"].append(step)
                history["train_loss"].append(loss_fn(model(x), y).item())
                history["test_loss"].append(loss_fn(model(x_test), y_test).item())
    return history


class DropoutExplorer:
    """Lesson 06: train and test loss of an overfitting MLP as the dropout rate changes.

    Every rate on the slider's grid is trained once, up front, so moving the slider only redraws.
    """

    def __init__(self, curves_for_rate, rates):
        self.rates = tuple(rates)
        self.curves = {rate: curves_for_rate(rate) for rate in self.rates}
        step = self.rates[1] - self.rates[0]
        self.controls = {"p": ipywidgets.FloatSlider(value=self.rates[0], min=self.rates[0], max=self.rates[-1],
                                                     step=step, description="dropout p",
                                                     style={"description_width": "initial"})}
        self.figure, (self.curve_axes, self.rate_axes) = view_figure(
            (12.0, 3.6), 2, left=0.06, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
        baseline = self.curves[self.rates[0]]
        self.curve_axes.plot(baseline["step"], baseline["test_loss"], color=PALETTE[6], linewidth=0.8, alpha=0.5,
                             label=f"test, p = {self.rates[0]:g}")
        (self._train_line,) = self.curve_axes.plot([], [], color=PALETTE[0], label="train")
        (self._test_line,) = self.curve_axes.plot([], [], color=PALETTE[1], label="test")
        self.curve_axes.set(xlabel="step", ylabel="loss (evaluation mode)", title="Loss curves at this dropout rate")
        self.curve_axes.legend(loc="upper right", fontsize=8)
        self.curve_axes.grid(True, alpha=0.3)
        finals = {kind: [self.curves[rate][kind][-1] for rate in self.rates] for kind in ("train_loss", "test_loss")}
        self.rate_axes.plot(self.rates, finals["train_loss"], color=PALETTE[0], marker="o", markersize=3,
                            label="final train loss")
        self.rate_axes.plot(self.rates, finals["test_loss"], color=PALETTE[1], marker="o", markersize=3,
                            label="final test loss")
        (self._marker,) = self.rate_axes.plot([], [], marker="*", markersize=14, color=PALETTE[4], linestyle="none",
                                              label="this rate")
        self.rate_axes.set(xlabel="dropout rate p", ylabel="loss after training", title="Final losses by rate")
        self.rate_axes.legend(loc="upper left", fontsize=8)
        self.rate_axes.grid(True, alpha=0.3)
        quick_to_draw(self.curve_axes, self.rate_axes)
        connect_view(self, self.controls.values())

    def update(self) -> None:
        rate = min(self.rates, key=lambda r: abs(r - self.controls["p"].value))  # the grid point trained
        history = self.curves[rate]
        self._train_line.set_data(history["step"], history["train_loss"])
        self._test_line.set_data(history["step"], history["test_loss"])
        self.curve_axes.relim()
        self.curve_axes.autoscale_view()
        self._marker.set_data([rate], [history["test_loss"][-1]])
        self.image.value = render_png(self.figure)
        self.readout.value = (f"p = {rate:g}: final train loss {history['train_loss'][-1]:.3f}, test loss "
                              f"{history['test_loss'][-1]:.3f} (gap {history['test_loss'][-1] - history['train_loss'][-1]:.3f}).")


def dropout_explorer(dropout=None, data=None, steps=300, rates=tuple(np.round(np.arange(0, 0.51, 0.05), 2))):
    """Lesson 06: a dropout-rate slider on a small overfitting net, train vs test loss.

    Pass the student's `dropout(x, p, training, rng)`; while it raises NotImplementedError the reference
    stands in (with a printed note). All `rates` are trained for `steps` steps when the view is built.
    """

    rule = implemented_or_reference(dropout, regularization.dropout,
                                    lambda f: f(np.ones(4), 0.5, True, np.random.default_rng(0)))
    data = load_mnist1d() if data is None else data
    return DropoutExplorer(lambda p: dropout_training_curves(rule, p, data, steps), rates)
