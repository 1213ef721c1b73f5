"""Lesson 00: per-layer gradient norms of a deep MLP (vanishing and exploding gradients)."""

import ipywidgets
import numpy as np
import torch
from torch import nn

from reference_impl import diagnostics

from ..experiments import deep_mlp
from ..fallback import implemented_or_reference
from .base import PALETTE, View, log_limits, quick_to_draw, view_figure


class GradientFlowExplorer(View):
    """Lesson 00: per-layer gradient norms of a deep MLP after one backward pass, on a log scale.

    Sliders (`controls`): depth and init scale; the toggle (`options["activation"]`) picks the
    activation. `layer_gradient_norms` has the signature of `reference_impl.diagnostics.layer_gradient_norms`.
    """

    def __init__(self, layer_gradient_norms, batch_size=64, width=64):
        self.layer_gradient_norms = layer_gradient_norms
        self.width = width
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(batch_size, width, generator=generator)
        self.targets = torch.randint(0, 10, (batch_size,), generator=generator)
        controls = {
            "depth": ipywidgets.IntSlider(
                value=20, min=2, max=50, description="hidden layers", style={"description_width": "initial"}
            ),
            "init_scale": ipywidgets.FloatLogSlider(
                value=1.0,
                base=10,
                min=np.log10(0.25),
                max=np.log10(4.0),
                step=0.01,
                description="init scale (std·√fan_in)",
                readout_format=".3g",
                style={"description_width": "initial"},
            ),
        }
        options = {
            "activation": ipywidgets.ToggleButtons(
                options=["sigmoid", "tanh", "ReLU"], value="tanh", description="activation"
            )
        }
        figure, self.axes = view_figure((9.5, 3.8), left=0.09, right=0.98, bottom=0.14, top=0.9)
        (self._norm_line,) = self.axes.plot(
            [], [], marker="o", markersize=3, color=PALETTE[0], label="‖∂L/∂W‖ of the layer (weight and bias)"
        )
        self.axes.axhline(1.0, color=PALETTE[6], linewidth=0.8, linestyle=":", label="norm 1")
        self.axes.set(xlabel="layer (1 = next to the input)", ylabel="gradient norm (log scale)", yscale="log")
        self.axes.grid(True, which="major", alpha=0.3)
        self.axes.legend(loc="upper right", fontsize=8)
        quick_to_draw(self.axes)
        super().__init__(figure, controls, options)

    def update(self) -> None:
        depth, scale = self.controls["depth"].value, self.controls["init_scale"].value
        activation = self.options["activation"].value
        model = deep_mlp(depth, activation, scale, width=self.width, inputs=self.inputs.shape[1])
        self.norms = np.array(
            list(self.layer_gradient_norms(model, self.inputs, self.targets, nn.functional.cross_entropy).values()),
            dtype=float,
        )
        layers = np.arange(1, len(self.norms) + 1)
        shown = np.maximum(self.norms, 1e-30)  # a log axis cannot show 0
        self._norm_line.set_data(layers, shown)
        self.axes.set_xlim(0.5, len(layers) + 0.5)
        self.axes.set_ylim(log_limits(shown, margin=3.0))
        self.axes.set_title(f"Gradient norm per layer: {depth} hidden layers, {activation}, init scale {scale:.3g}")
        ratio = self.norms[0] / self.norms[-1] if self.norms[-1] > 0 else np.inf
        # Exploding shows either as a slope towards the input or, for ReLU, as every layer's norm being
        # huge at once: activations and backpropagated errors both grow, and a weight's gradient is their product.
        trend = (
            "vanishing"
            if ratio < 1e-2
            else "exploding"
            if ratio > 1e2 or self.norms.max() > 1e2
            else "roughly balanced"
        )
        self.show(
            f"First layer {self.norms[0]:.3g}, last layer {self.norms[-1]:.3g}: the first layer's "
            f"gradient is {ratio:.3g}× the last layer's (<b>{trend}</b>)."
        )


def gradient_flow_explorer(layer_gradient_norms=None):
    """Lesson 00: the student's `layer_gradient_norms` on deep MLPs (the reference while it raises
    NotImplementedError)."""
    probe_model = nn.Linear(2, 1)
    rule = implemented_or_reference(
        layer_gradient_norms,
        diagnostics.layer_gradient_norms,
        lambda f: f(probe_model, torch.ones(1, 2), torch.ones(1, 1), nn.functional.mse_loss),
    )
    return GradientFlowExplorer(rule)
