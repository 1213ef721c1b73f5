"""Numerical gradient checking: centered differences and a relative error, for any NumPy function.

Use float64: with step h = 1e-5 a centered difference is accurate to about 1e-10 relative to the
gradient, so a correct backward pass gives a relative error far below 1e-7 and a wrong one far above.
"""

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Centered-difference gradient of the scalar function `f` at the array `x`: (f(x + h) − f(x − h)) / 2h.

    Each coordinate is perturbed in turn on a float64 copy of `x`; `x` itself is not changed.
    """
    point = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        original = point[index]
        point[index] = original + h
        above = float(f(point))
        point[index] = original - h
        below = float(f(point))
        point[index] = original
        gradient[index] = (above - below) / (2 * h)
    return gradient


def relative_error(analytic, numerical):
    """‖a − n‖ / (‖a‖ + ‖n‖): scale-free, and 0 when both gradients vanish."""
    analytic, numerical = np.asarray(analytic, dtype=np.float64), np.asarray(numerical, dtype=np.float64)
    if analytic.shape != numerical.shape:
        raise ValueError(f"gradient shapes differ: {analytic.shape} vs {numerical.shape}")
    scale = np.linalg.norm(analytic) + np.linalg.norm(numerical)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numerical) / scale)


def gradient_errors(f, inputs, analytic, h=1e-5):
    """Relative error of each analytic gradient against centered differences of the scalar `f(**inputs)`.

    `inputs` maps names to arrays and `analytic` maps (some of) the same names to the gradients to
    check. Returns ``{name: relative error}``.
    """
    errors = {}
    for name, gradient in analytic.items():

        def f_of(value, name=name):
            return f(**{**inputs, name: value})

        errors[name] = relative_error(gradient, numerical_gradient(f_of, inputs[name], h))
    return errors


def assert_gradients_match(f, inputs, analytic, tolerance=1e-7, h=1e-5, what="the backward pass"):
    """Raise AssertionError naming each gradient whose relative error exceeds `tolerance`.

    A missing gradient (None) or one shaped unlike its input is reported as such.
    """
    for name, gradient in analytic.items():
        if gradient is None:
            raise AssertionError(f"{what}: the gradient for {name} is None: did you forget to return it?")
        if np.shape(gradient) != np.shape(inputs[name]):
            raise AssertionError(
                f"{what}: the gradient for {name} has shape {np.shape(gradient)}, "
                f"expected {np.shape(inputs[name])} like {name}."
            )
    errors = gradient_errors(f, inputs, analytic, h)
    failing = {name: error for name, error in errors.items() if not error < tolerance}
    if failing:
        listed = ", ".join(f"{name}: {error:.2e}" for name, error in failing.items())
        raise AssertionError(
            f"{what}: gradient check failed, relative error {listed} (should be below "
            f"{tolerance:.0e}; a correct float64 gradient gives about 1e-10)."
        )
