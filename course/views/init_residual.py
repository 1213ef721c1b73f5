"""Lesson 07: activation scale through depth, plain vs residual, Xavier vs He."""

import ipywidgets
import numpy as np

from reference_impl import init

from ..experiments.init_residual import signal_std_by_layer
from ..fallback import implemented_or_reference
from .base import PALETTE, View, log_limits, quick_to_draw, view_figure


class InitExplorer(View):
    """Lesson 07: activation and gradient std layer by layer, plain vs residual, for an init and a depth."""

    def __init__(self, std_for, width=64):
        self.std_for, self.width = std_for, width
        controls = {
            "depth": ipywidgets.IntSlider(
                value=30, min=2, max=100, step=2, description="depth", style={"description_width": "initial"}
            )
        }
        options = {
            "init": ipywidgets.ToggleButtons(options=["Xavier", "He"], value="He", description="init"),
            "activation": ipywidgets.ToggleButtons(options=["relu", "tanh"], value="relu", description="activation"),
        }
        figure, (self.forward_axes, self.backward_axes) = view_figure(
            (12.0, 3.6), 2, left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.25
        )
        self._lines = {}
        for axes, quantity in ((self.forward_axes, "forward"), (self.backward_axes, "backward")):
            for kind, color in (("plain", PALETTE[0]), ("residual", PALETTE[1])):
                (self._lines[quantity, kind],) = axes.plot([], [], color=color, marker="o", markersize=2, label=kind)
            axes.axhline(1.0, color=PALETTE[6], linewidth=0.8, linestyle="--", label="std 1")
            axes.set(yscale="log", xlabel="layer")
            axes.legend(loc="lower left", fontsize=8)
            axes.grid(True, alpha=0.3)
        self.forward_axes.set(ylabel="activation std (log scale)", title="Forward: activations by layer")
        self.backward_axes.set(ylabel="gradient std (log scale)", title="Backward: gradient reaching each layer")
        quick_to_draw(self.forward_axes, self.backward_axes)
        self._cache = {}
        super().__init__(figure, controls, options)

    def update(self) -> None:
        depth = max(2, int(self.controls["depth"].value) // 2 * 2)
        init, activation = self.options["init"].value, self.options["activation"].value
        std = self.std_for(init, (self.width, self.width))
        key = (depth, init, activation)
        if key not in self._cache:
            self._cache[key] = {
                kind: signal_std_by_layer(depth, std, activation, kind == "residual", self.width)
                for kind in ("plain", "residual")
            }
        self.stds = self._cache[key]
        for kind, (layers, forward, gradient) in self.stds.items():
            # Floor at a tiny value: a signal that has died completely cannot be drawn on a log axis.
            self._lines["forward", kind].set_data(layers, np.maximum(forward, 1e-30))
            self._lines["backward", kind].set_data(layers, np.maximum(gradient, 1e-30))
        for axes, quantity in ((self.forward_axes, "forward"), (self.backward_axes, "backward")):
            axes.set_xlim(0, depth + 1)
            axes.set_ylim(log_limits(*(self._lines[quantity, kind].get_ydata() for kind in self.stds)))
        plain, residual = self.stds["plain"], self.stds["residual"]
        self.show(
            f"{init} init (weight std {std:.3g}), {activation}, {depth} layers: last activation std "
            f"plain {plain[1][-1]:.3g} vs residual {residual[1][-1]:.3g}; gradient std at the first "
            f"layer plain {plain[2][0]:.3g} vs residual {residual[2][0]:.3g}."
        )


def init_explorer(xavier_std=None, he_std=None):
    """Lesson 07: depth and init sliders; activation and gradient std per layer, plain vs residual.

    Pass the student's `xavier_std(shape, gain)` and `he_std(shape, gain, mode)`; while they raise
    NotImplementedError the reference stands in (with a printed note). Xavier uses gain 1, He √2.
    """
    xavier = implemented_or_reference(xavier_std, init.xavier_std, lambda f: f((2, 2)))
    he = implemented_or_reference(he_std, init.he_std, lambda f: f((2, 2)))
    return InitExplorer(lambda name, shape: float(xavier(shape, 1.0) if name == "Xavier" else he(shape, np.sqrt(2.0))))
