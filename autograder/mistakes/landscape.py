"""Lesson 00 (landscape): plausible wrong answers to each exercise, and what each exercise must not call.

Each dict maps a description that completes "That is what you get if you ..." to a function with the
exercise's signature that makes exactly that mistake.
"""

import numpy as np
import torch
from torch import nn


def _descend(landscape, start, lr, steps, direction=-1.0, gradient_at_start=False, keep_start=True):
    points = [np.asarray(start, dtype=float)]
    for _ in range(steps):
        where = points[0] if gradient_at_start else points[-1]
        points.append(points[-1] + direction * lr * landscape.grad(where))
    return np.array(points if keep_start else points[1:])


def _descend_in_place(landscape, start, lr, steps):
    point = np.asarray(start, dtype=float)  # the caller's own array when `start` is already a float array
    points = [point.copy()]
    for _ in range(steps):
        point -= lr * landscape.grad(point)
        points.append(point.copy())
    return np.array(points)


GD_ON_SURFACE = {
    "add the gradient instead of subtracting it (gradient ascent)": lambda landscape, start, lr, steps: _descend(
        landscape, start, lr, steps, direction=1.0
    ),
    "leave the starting point out of the path (it has steps + 1 points, the start first)": lambda landscape, start, lr, steps: (
        _descend(landscape, start, lr, steps, keep_start=False)
    ),
    "evaluate the gradient at the starting point on every step instead of at the current point": lambda landscape, start, lr, steps: (
        _descend(landscape, start, lr, steps, gradient_at_start=True)
    ),
    "return the list of points instead of a NumPy array (np.array(path))": lambda landscape, start, lr, steps: list(
        _descend(landscape, start, lr, steps)
    ),
    "move the point in place (np.asarray(start) is the caller's own array when start is a float array, so "
    "`point -= …` changes their start)": _descend_in_place,
}


def _own_parameters(module):
    return list(module.parameters(recurse=False))


def _layer_norms(
    model,
    inputs,
    targets,
    loss_fn,
    *,
    zero_first=True,
    read=lambda p: p.grad,
    combine="norm",
    parameters_of=_own_parameters,
    reverse=False,
    number=float,
    keep_unreached=True,
):
    """The solution with one piece changed; the keyword arguments name the pieces."""
    if zero_first:
        model.zero_grad(set_to_none=True)
    loss_fn(model(inputs), targets).backward()
    norms = {}
    for name, layer in model.named_modules():
        parameters = parameters_of(layer)
        tensors = [read(p) for p in parameters if read(p) is not None]
        if not parameters or not (tensors or keep_unreached):
            continue
        if not tensors:
            norms[name] = number(torch.tensor(0.0))
        elif combine == "weight only":
            norms[name] = number(tensors[0].norm())
        elif combine == "sum of norms":
            norms[name] = number(sum(t.norm() for t in tensors))
        elif combine == "squared":
            norms[name] = number(sum(t.square().sum() for t in tensors))
        else:
            norms[name] = number(torch.sqrt(sum(t.square().sum() for t in tensors)))
    return dict(reversed(norms.items())) if reverse else norms


def _layer_norms_from_torch(model, inputs, targets, loss_fn):
    model.zero_grad(set_to_none=True)
    loss_fn(model(inputs), targets).backward()
    return {
        name: float(torch.nn.utils.get_total_norm([p.grad for p in _own_parameters(layer) if p.grad is not None]))
        for name, layer in model.named_modules()
        if _own_parameters(layer)
    }


LAYER_GRADIENT_NORMS = {
    "keep the gradients of an earlier backward pass (call model.zero_grad() first: backward adds to .grad)": lambda *args: (
        _layer_norms(*args, zero_first=False)
    ),
    "leave the bias out (the weight's gradient only)": lambda *args: _layer_norms(*args, combine="weight only"),
    "add the weight's and the bias's norms instead of taking one norm over both": lambda *args: _layer_norms(
        *args, combine="sum of norms"
    ),
    "return squared norms (forget the square root)": lambda *args: _layer_norms(*args, combine="squared"),
    "take the norm of the weights instead of their gradients": lambda *args: _layer_norms(
        *args, read=lambda p: p.detach()
    ),
    "count the parameters of a module's submodules too (module.parameters() recurses into them: pass "
    "recurse=False)": lambda *args: _layer_norms(*args, parameters_of=lambda module: list(module.parameters())),
    "measure only the nn.Linear layers (every module that owns parameters is a layer: nn.LayerNorm, a module "
    "with an nn.Parameter of its own)": lambda *args: _layer_norms(
        *args, parameters_of=lambda module: _own_parameters(module) if isinstance(module, nn.Linear) else []
    ),
    "list the layers from the output back to the input instead of in the order of "
    "model.named_modules()": lambda *args: _layer_norms(*args, reverse=True),
    "return tensors instead of floats (float(...) or .item())": lambda *args: _layer_norms(
        *args, number=lambda tensor: tensor
    ),
    "leave out a layer the loss does not reach (it belongs in the result, with norm 0.0)": lambda *args: _layer_norms(
        *args, keep_unreached=False
    ),
}


def _eigenvalues(hessian):
    return np.linalg.eigvalsh(np.asarray(hessian, dtype=float))


LARGEST_STABLE_LR = {
    "use the smallest eigenvalue instead of the largest": lambda hessian: 2 / _eigenvalues(hessian).min(),
    "forget the factor 2 (1/λ_max is where the steepest direction is solved in one step, not the limit)": lambda hessian: (
        1 / _eigenvalues(hessian).max()
    ),
    "use the largest diagonal entry instead of the largest eigenvalue": lambda hessian: (
        2 / np.diag(np.asarray(hessian, dtype=float)).max()
    ),
    "divide by the trace (the sum of the eigenvalues) instead of the largest eigenvalue": lambda hessian: (
        2 / np.trace(np.asarray(hessian, dtype=float))
    ),
    "return a tensor instead of a float (torch.linalg.eigvalsh gives tensors: convert with "
    "float(...))": lambda hessian: 2 / torch.linalg.eigvalsh(torch.as_tensor(hessian, dtype=torch.float64)).max(),
}


# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "gd_on_surface": {"gd_on_surface": GD_ON_SURFACE},
    "largest_stable_lr": {"largest_stable_lr": LARGEST_STABLE_LR},
    "layer_gradient_norms": {"layer_gradient_norms": LAYER_GRADIENT_NORMS},
}

# What each exercise's answer must not call: the ready-made versions of what it asks for, in the answer key and
# in torch. The hidden tests block them while the answer runs (checks' forbidden=); the integrity scan flags them.
MUST_NOT_CALL = {
    "gd_on_surface": ("reference_impl.landscapes.gradient_descent_path", "reference_impl.landscapes.descend"),
    "largest_stable_lr": ("reference_impl.diagnostics.largest_stable_lr",),
    "layer_gradient_norms": (
        "reference_impl.diagnostics.layer_gradient_norms",
        "reference_impl.diagnostics.health_report",
        "reference_impl.diagnostics.combined_norm",
        "torch.nn.utils.get_total_norm",
        "torch.nn.utils.clip_grad_norm_",
    ),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"layer_gradient_norms": {"layer_gradient_norms": _layer_norms_from_torch}}
