"""Lesson 01: gradient descent, heavy-ball and Nesterov on an ill-conditioned bowl."""

import ipywidgets
import numpy as np

from reference_impl import landscapes
from reference_impl.optim import sgd

from ..fallback import implemented_or_reference
from .base import PathExplorer, learning_rate_slider


def momentum_explorer(gd_step=None, heavy_ball_step=None, nesterov_step=None, steps=60):
    """Lesson 01: gradient descent, heavy-ball momentum and Nesterov on an ill-conditioned bowl.

    Pass the student's functions; any that still raise NotImplementedError are replaced by the
    reference (with a printed note), so the view always works.
    """
    point, grad = np.zeros(2), np.ones(2)
    gd = implemented_or_reference(gd_step, sgd.gd_step, lambda step: step(point, grad, 0.1))
    momentum_probe = lambda step: step(point, grad, None, 0.1, 0.9)  # noqa: E731
    heavy_ball = implemented_or_reference(heavy_ball_step, sgd.heavy_ball_step, momentum_probe)
    nesterov = implemented_or_reference(nesterov_step, sgd.nesterov_step, momentum_probe)
    controls = {
        "lr": learning_rate_slider(0.5),
        "momentum": ipywidgets.FloatSlider(
            value=0.8, min=0.0, max=0.99, step=0.01, description="momentum μ", style={"description_width": "initial"}
        ),
        "kappa": ipywidgets.FloatLogSlider(
            value=30.0,
            base=10,
            min=0,
            max=3,
            step=0.05,
            description="condition κ",
            readout_format=".3g",
            style={"description_width": "initial"},
        ),
    }

    def optimizers_for(v):
        lr, momentum = v["lr"], v["momentum"]
        return {
            "gradient descent": lambda p, g, state: (gd(p, g, lr), state),
            "heavy-ball momentum": lambda p, g, buf: heavy_ball(p, g, buf, lr, momentum),
            "Nesterov": lambda p, g, buf: nesterov(p, g, buf, lr, momentum),
        }

    return PathExplorer(
        controls, lambda v: landscapes.quadratic(v["kappa"]), optimizers_for, steps=steps, title="Momentum"
    )
