"""Lesson 07: activation scale through depth, plain vs residual, Xavier vs He."""
import ipywidgets
import numpy as np

from reference_impl import init
from ..fallback import implemented_or_reference
from .base import PALETTE, connect_view, log_limits, quick_to_draw, render_png, view_figure


def signal_std_by_layer(depth, std, activation, residual, width=64, batch=64, seed=0):
    """Std of the activations after each layer, and of the gradient reaching each layer, in a deep random net.

    Weights are N(0, std²), shaped (width, width), biases zero; inputs N(0, 1). Plain: h ← φ(W h) per
    layer. Residual: blocks of two layers, h ← φ(h + W₂ φ(W₁ h)/√blocks), as `models.ResidualBlock`
    in `models.DeepMLP`. Backward, a N(0, 1) gradient enters at the top. Returns ``(layers, forward_std,
    gradient_std)``: the layer index after each block (every layer for plain, every second for
    residual) and the two stds there, in float64 NumPy.
    """
    rng = np.random.default_rng(seed)
    unit_weights = rng.standard_normal((depth, width, width))
    h = rng.standard_normal((batch, width))
    phi, phi_prime = {"tanh": (np.tanh, lambda y: 1 - y ** 2),
                      "relu": (lambda z: np.maximum(z, 0.0), lambda y: (y > 0).astype(float))}[activation]
    layers_per_block = 2 if residual else 1
    scale = 1 / np.sqrt(depth // 2) if residual else 1.0
    forward, tape = [], []
    for block in range(depth // layers_per_block):
        w = unit_weights[block * layers_per_block:(block + 1) * layers_per_block] * std
        if residual:
            inner = phi(h @ w[0].T)
            out = phi(h + scale * inner @ w[1].T)
            tape.append((w, inner, out))
        else:
            out = phi(h @ w[0].T)
            tape.append((w, out))
        h = out
        forward.append(h.std())
    grad = np.random.default_rng(seed + 1).standard_normal(h.shape)
    gradient = []
    for record in reversed(tape):
        if residual:
            w, inner, out = record
            through = grad * phi_prime(out)
            grad = through + scale * ((through @ w[1]) * phi_prime(inner)) @ w[0]
        else:
            w, out = record
            grad = (grad * phi_prime(out)) @ w[0]
        gradient.append(grad.std())
    layers = np.arange(1, len(forward) + 1) * layers_per_block
    return layers, np.asarray(forward), np.asarray(gradient[::-1])


class InitExplorer:
    """Lesson 07: activation and gradient std layer by layer, plain vs residual, for an init and a depth."""

    def __init__(self, std_for, width=64):
        self.std_for, self.width = std_for, width
        self.controls = {"depth": ipywidgets.IntSlider(value=30, min=2, max=100, step=2, description="depth",
                                                       style={"description_width": "initial"})}
        self.options = {"init": ipywidgets.ToggleButtons(options=["Xavier", "He"], value="He", description="init"),
                        "activation": ipywidgets.ToggleButtons(options=["relu", "tanh"], value="relu",
                                                               description="activation")}
        self.figure, (self.forward_axes, self.backward_axes) = view_figure(
            (12.0, 3.6), 2, left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
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
        connect_view(self, [*self.controls.values(), *self.options.values()])

    def update(self) -> None:
        depth = max(2, int(self.controls["depth"].value) // 2 * 2)
        init, activation = self.options["init"].value, self.options["activation"].value
        std = self.std_for(init, (self.width, self.width))
        key = (depth, init, activation)
        if key not in self._cache:
            self._cache[key] = {kind: signal_std_by_layer(depth, std, activation, kind == "residual", self.width)
                                for kind in ("plain", "residual")}
        self.stds = self._cache[key]
        for kind, (layers, forward, gradient) in self.stds.items():
            # Floor at a tiny value: a signal that has died completely cannot be drawn on a log axis.
            self._lines["forward", kind].set_data(layers, np.maximum(forward, 1e-30))
            self._lines["backward", kind].set_data(layers, np.maximum(gradient, 1e-30))
        for axes, quantity in ((self.forward_axes, "forward"), (self.backward_axes, "backward")):
            axes.set_xlim(0, depth + 1)
            axes.set_ylim(log_limits(*(self._lines[quantity, kind].get_ydata() for kind in self.stds)))
        self.image.value = render_png(self.figure)
        plain, residual = self.stds["plain"], self.stds["residual"]
        self.readout.value = (f"{init} init (weight std {std:.3g}), {activation}, {depth} layers: last activation std "
                              f"plain {plain[1][-1]:.3g} vs residual {residual[1][-1]:.3g}; gradient std at the first "
                              f"layer plain {plain[2][0]:.3g} vs residual {residual[2][0]:.3g}.")


def init_explorer(xavier_std=None, he_std=None):
    """Lesson 07: depth and init sliders; activation and gradient std per layer, plain vs residual.

    Pass the student's `xavier_std(shape, gain)` and `he_std(shape, gain, mode)`; while they raise
    NotImplementedError the reference stands in (with a printed note). Xavier uses gain 1, He √2.
    """

    xavier = implemented_or_reference(xavier_std, init.xavier_std, lambda f: f((2, 2)))
    he = implemented_or_reference(he_std, init.he_std, lambda f: f((2, 2)))
    return InitExplorer(lambda name, shape: float(xavier(shape, 1.0) if name == "Xavier" else he(shape, np.sqrt(2.0))))
