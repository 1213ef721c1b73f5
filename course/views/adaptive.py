"""Lesson 02: SGD-momentum, RMSprop and Adam on badly scaled surfaces."""

import ipywidgets
import numpy as np

from reference_impl import landscapes
from reference_impl.optim import adam, rmsprop, sgd

from ..fallback import implemented_or_reference
from .base import PathExplorer, learning_rate_slider


def adaptive_explorer(rmsprop_step=None, adam_step=None, surface=landscapes.quadratic, steps=80):
    """Lesson 02: SGD-momentum, RMSprop and Adam on a badly scaled surface, with per-coordinate step sizes.

    `surface(condition_number)` builds the landscape: the axis-aligned bowl by default, where
    per-coordinate scaling removes the bad conditioning, or e.g. `landscapes.rotated_quadratic`, where
    it cannot. SGD-momentum is the EMA form with β₁ and RMSprop uses ρ = β₂, so one set of sliders
    drives all three. Student functions that raise NotImplementedError fall back to the reference.
    """
    point, grad = np.zeros(2), np.ones(2)

    def fresh_adam_state():
        return {"step": 0, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}

    rms = implemented_or_reference(
        rmsprop_step, rmsprop.rmsprop_step, lambda step: step(point, grad, np.zeros(2), 0.1, 0.9, 1e-8)
    )
    adam_rule = implemented_or_reference(
        adam_step, adam.adam_step, lambda step: step(point, grad, fresh_adam_state(), 0.1, 0.9, 0.999, 1e-8)
    )
    controls = {
        "lr": learning_rate_slider(0.1, low=1e-3, high=1.0),
        "beta1": ipywidgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="β₁"),
        # What matters in β₂ is the number of nines (an average over about 1/(1−β₂) steps): a linear slider
        # would crowd 0.99, 0.999 and 0.9999 into its last pixels.
        "beta2": ipywidgets.SelectionSlider(
            options=(0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999), value=0.99, description="β₂"
        ),
        "eps": ipywidgets.FloatLogSlider(
            value=1e-8, base=10, min=-8, max=0, step=0.25, description="ε", readout_format=".1e"
        ),
        "kappa": ipywidgets.FloatLogSlider(
            value=100.0, base=10, min=0, max=3, step=0.05, description="condition κ", readout_format=".3g"
        ),
    }

    def optimizers_for(v):
        lr, beta1, beta2, eps = v["lr"], v["beta1"], v["beta2"], v["eps"]
        return {
            "SGD-momentum (EMA, β₁)": lambda p, g, velocity: sgd.ema_momentum_step(
                p, g, np.zeros(2) if velocity is None else velocity, lr, beta1
            ),
            "RMSprop (ρ = β₂)": lambda p, g, square_avg: rms(
                p, g, np.zeros(2) if square_avg is None else square_avg, lr, beta2, eps
            ),
            "Adam": lambda p, g, state: adam_rule(
                p, g, fresh_adam_state() if state is None else state, lr, beta1, beta2, eps
            ),
        }

    return PathExplorer(
        controls,
        lambda v: surface(v["kappa"]),
        optimizers_for,
        steps=steps,
        title="Adaptive methods",
        show_step_sizes=True,
    )
