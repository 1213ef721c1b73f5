"""Checks of functions that work by changing their inputs, e.g. clipping gradients or training a model."""

import numpy as np
import torch

from .compare import named_values, snapshot
from .trajectory import check_trajectory


def check_in_place(
    student,
    reference,
    make_args,
    *,
    observe,
    names=None,
    mistakes=None,
    rtol=1e-6,
    atol=1e-10,
    what=None,
    forbidden=(),
):
    """Compare what `student` and `reference` return and what they leave in their inputs.

    Each is called on fresh inputs ``make_args()`` (a tuple of positional arguments, built identically every
    time); its result and ``observe(args)`` afterwards (a dict {description: array or None} read from the
    inputs, e.g. each parameter's gradient) are compared; an entry may rightly be None (a parameter
    without a gradient). A function returning a fixed tuple of values is given their `names` (``("dx",
    "dgamma", "dbeta")``), by which the message names them. `mistakes`: wrong functions with the student's
    signature. `forbidden`: functions the student's answer must not call (see forbidden.py).
    """
    what = what or getattr(student, "__name__", "your function")

    def outcome(function, _count):
        args = make_args()
        result = function(*args)
        return [{**named_values(result, names, what), **observe(args)}]

    check_trajectory(
        outcome,
        student,
        reference,
        what=what,
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        why_none="",
        forbidden=forbidden,
    )


def parameters_from(values, grads):
    """A function that builds fresh float64 parameters from the arrays `values`, each with `.grad` from `grads`.

    A None in `grads` leaves that parameter without a gradient. Pass it, wrapped in the arguments, as
    `make_args` of `check_in_place`, so every function compared starts from identical parameters.
    """

    def build():
        parameters = []
        for value, grad in zip(values, grads):
            parameter = torch.tensor(np.asarray(value, dtype=float), requires_grad=True)
            parameter.grad = None if grad is None else torch.tensor(np.asarray(grad, dtype=float))
            parameters.append(parameter)
        return parameters

    return build


def parameter_observations(parameters):
    """{"parameter i": value, "the gradient of parameter i": gradient or None}: what `check_in_place` compares."""
    observed = {}
    for index, parameter in enumerate(parameters):
        observed[f"the gradient of parameter {index}"] = snapshot(parameter.grad)
        observed[f"parameter {index}"] = snapshot(parameter)
    return observed


def held_gradients(clip):
    """`clip` returning the gradient tensors a caller (an optimizer, say) held before the call: an answer that
    changes each p.grad in place changes them too, one that replaces p.grad leaves them as they were.

    `clip` is called as ``clip(parameters, *settings)``; wrap the student's answer, the reference and each
    mistake alike and compare them with `check_in_place`, naming the values with `held_gradient_names`.
    """

    def clip_and_read_held(parameters, *settings):
        held = tuple(p.grad for p in parameters)
        clip(parameters, *settings)
        return held

    return clip_and_read_held


def held_gradient_names(count):
    """The names `check_in_place` gives what `held_gradients` returns for `count` parameters."""
    return tuple(f"the gradient of parameter {index} the caller held" for index in range(count))


def through_a_generator(clip):
    """`clip` handed the parameters as a generator, as model.parameters() hands them."""
    return lambda parameters, *settings: clip((p for p in parameters), *settings)


def returns_a_tensor(function):
    """`function` returning 1.0 when it returns a torch.Tensor and 0.0 otherwise (a check of its return type)."""
    return lambda *args: float(isinstance(function(*args), torch.Tensor))
