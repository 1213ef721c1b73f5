r"""Two-dimensional test functions for watching optimizers move.

Each landscape evaluates its loss and gradient on arrays shaped ``(..., 2)``, so the same code
computes one point of a trajectory or a whole grid for a contour plot.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .optim.sgd import gd_step


@dataclass(frozen=True)
class Landscape:
    """A loss surface: `loss(xy)` and `grad(xy)` on arrays shaped (..., 2), plus where to look."""

    name: str
    loss: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    bounds: tuple[tuple[float, float], tuple[float, float]]  # ((x_min, x_max), (y_min, y_max))


def quadratic(condition_number: float = 10.0) -> Landscape:
    r"""Ill-conditioned bowl $f(x, y) = \tfrac12 (x^2/\kappa + y^2)$.

    The Hessian has eigenvalues $1/\kappa$ and $1$, so gradient descent is stable for $\eta < 2$
    whatever $\kappa$, while the slow direction converges like $(1 - \eta/\kappa)^t$.
    """
    kappa = float(condition_number)
    if kappa < 1:
        raise ValueError(f"condition_number must be >= 1, got {condition_number}")
    scale = np.array([1.0 / kappa, 1.0])
    return Landscape(
        name=f"quadratic (κ = {kappa:.3g})",
        loss=lambda xy: 0.5 * np.sum(scale * np.square(xy), axis=-1),
        grad=lambda xy: scale * np.asarray(xy),
        start=(-4.0, 1.5),
        minimum=(0.0, 0.0),
        bounds=((-5.0, 5.0), (-2.0, 2.0)),
    )


def rotated_quadratic(condition_number: float = 50.0, angle: float = np.pi / 4) -> Landscape:
    r"""A ravine: the bowl of `quadratic` turned by `angle`, so its slow axis is not a coordinate axis.

    Per-coordinate methods (RMSprop, Adam) cannot rescale it away, unlike the axis-aligned bowl.
    """
    kappa = float(condition_number)
    if kappa < 1:
        raise ValueError(f"condition_number must be >= 1, got {condition_number}")
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    hessian = rotation @ np.diag([1.0 / kappa, 1.0]) @ rotation.T
    return Landscape(
        name=f"ravine (κ = {kappa:.3g})",
        loss=lambda xy: 0.5 * np.einsum("...i,ij,...j->...", xy, hessian, xy),
        grad=lambda xy: np.asarray(xy) @ hessian,
        start=(-3.0, -2.0),
        minimum=(0.0, 0.0),
        bounds=((-4.0, 4.0), (-4.0, 4.0)),
    )


def rosenbrock() -> Landscape:
    r"""$f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$: a curved, flat-bottomed valley, minimum at (1, 1)."""

    def loss(xy):
        x, y = xy[..., 0], xy[..., 1]
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    def grad(xy):
        x, y = xy[..., 0], xy[..., 1]
        return np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], axis=-1)

    return Landscape("Rosenbrock", loss, grad, start=(-1.2, 1.0), minimum=(1.0, 1.0), bounds=((-2.0, 2.0), (-1.0, 3.0)))


def beale() -> Landscape:
    r"""$f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$, minimum at (3, 0.5)."""
    constants = (1.5, 2.25, 2.625)

    def loss(xy):
        x, y = xy[..., 0], xy[..., 1]
        return sum((c - x + x * y**k) ** 2 for k, c in enumerate(constants, start=1))

    def grad(xy):
        x, y = xy[..., 0], xy[..., 1]
        residuals = [(c - x + x * y**k, k) for k, c in enumerate(constants, start=1)]
        dx = sum(2 * r * (y**k - 1) for r, k in residuals)
        dy = sum(2 * r * k * x * y ** (k - 1) for r, k in residuals)
        return np.stack([dx, dy], axis=-1)

    return Landscape("Beale", loss, grad, start=(1.0, 1.5), minimum=(3.0, 0.5), bounds=((-4.5, 4.5), (-4.5, 4.5)))


def descend(landscape: Landscape, step, steps: int, state=None) -> np.ndarray:
    """Follow `step(point, grad, state) -> (point, state)` from the landscape's start.

    Returns the visited points, shaped (steps + 1, 2). Stops early (repeating the last finite point)
    once the iterate is no longer finite, so diverging runs still plot.
    """
    point = np.array(landscape.start, dtype=float)
    path = np.empty((steps + 1, 2))
    path[0] = point
    for t in range(1, steps + 1):
        point, state = step(point, landscape.grad(point), state)
        if not np.all(np.isfinite(point)):
            path[t:] = path[t - 1]
            break
        path[t] = point
    return path


def gradient_descent_path(landscape: Landscape, start, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent with learning rate `lr` from `start`: the visited points, shaped (steps + 1, 2)."""
    return descend(
        replace(landscape, start=tuple(start)), lambda point, grad, state: (gd_step(point, grad, lr), state), steps
    )
