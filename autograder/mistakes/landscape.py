"""Lesson 00 (landscape): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a function with the
exercise's signature that makes exactly that mistake.
"""

import numpy as np
import torch


def _descend(landscape, start, lr, steps, direction=-1.0, gradient_at_start=False, keep_start=True):
    points = [np.asarray(start, dtype=float)]
    for _ in range(steps):
        where = points[0] if gradient_at_start else points[-1]
        points.append(points[-1] + direction * lr * landscape.grad(where))
    return np.array(points if keep_start else points[1:])


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
}


def _layer_norms(model, inputs, targets, loss_fn, *, zero_first=True, read=lambda p: p.grad, combine="norm"):
    if zero_first:
        model.zero_grad(set_to_none=True)
    loss_fn(model(inputs), targets).backward()
    norms = {}
    for name, layer in model.named_modules():
        tensors = [read(p) for p in layer.parameters(recurse=False)]
        if not tensors:
            continue
        if combine == "weight only":
            norms[name] = float(tensors[0].norm())
        elif combine == "sum of norms":
            norms[name] = float(sum(t.norm() for t in tensors))
        elif combine == "squared":
            norms[name] = float(sum(t.square().sum() for t in tensors))
        else:
            norms[name] = float(torch.sqrt(sum(t.square().sum() for t in tensors)))
    return norms


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
}


# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "gd_on_surface": {"gd_on_surface": GD_ON_SURFACE},
    "largest_stable_lr": {"largest_stable_lr": LARGEST_STABLE_LR},
    "layer_gradient_norms": {"layer_gradient_norms": LAYER_GRADIENT_NORMS},
}
