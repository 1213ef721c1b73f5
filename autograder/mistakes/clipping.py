"""Lesson 05 (gradient clipping): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a function with the
exercise's signature that makes exactly that mistake. Like the exercises, they change `.grad` in place.
"""

import math

import torch

from reference_impl import clipping


def _gradients(parameters):
    return [p for p in clipping.parameter_list(parameters) if p.grad is not None]


@torch.no_grad()
def _per_tensor(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    parameters = clipping.parameter_list(parameters)
    total = clipping.total_gradient_norm(parameters, norm_type)
    for p in _gradients(parameters):
        clipping.clip_grad_norm([p], max_norm, norm_type)
    return total


@torch.no_grad()
def _scale_all(
    parameters,
    max_norm,
    norm_type=2.0,
    error_if_nonfinite=False,
    *,
    clamp=True,
    target="grad",
    returned="before",
    fixed_norm_type=None,
):
    parameters = clipping.parameter_list(parameters)
    total = clipping.total_gradient_norm(parameters, norm_type if fixed_norm_type is None else fixed_norm_type)
    scale = max_norm / (total + clipping.NORM_EPSILON)
    if clamp:
        scale = torch.clamp(scale, max=1.0)
    for p in _gradients(parameters):
        (p.grad if target == "grad" else p).mul_(scale)
    return total if returned == "before" else clipping.total_gradient_norm(parameters, norm_type)


CLIP_GRAD_NORM = {
    "clip each tensor by its own norm instead of by the global norm of all gradients together": _per_tensor,
    "leave out the clamp at 1 (gradients shorter than max_norm get scaled up to it)": lambda *args: _scale_all(
        *args, clamp=False
    ),
    "scale the parameters instead of their gradients": lambda *args: _scale_all(*args, target="param"),
    "return the norm after clipping instead of the norm before": lambda *args: _scale_all(*args, returned="after"),
    "always use the 2-norm, ignoring norm_type": lambda *args: _scale_all(*args, fixed_norm_type=2.0),
}


@torch.no_grad()
def _clamp(parameters, clip_value, *, low=True, target="grad", clipped_to_zero=False):
    for p in _gradients(parameters):
        tensor = p.grad if target == "grad" else p
        if clipped_to_zero:
            tensor.masked_fill_(tensor.abs() > clip_value, 0.0)
        else:
            tensor.clamp_(min=-clip_value if low else None, max=clip_value)


CLIP_GRAD_VALUE = {
    "clamp only from above (min(g, c)), leaving large negative coordinates": lambda parameters, clip_value: _clamp(
        parameters, clip_value, low=False
    ),
    "clamp the parameters instead of their gradients": lambda parameters, clip_value: _clamp(
        parameters, clip_value, target="param"
    ),
    "set the coordinates beyond ±c to zero instead of to ±c": lambda parameters, clip_value: _clamp(
        parameters, clip_value, clipped_to_zero=True
    ),
}


def _train(
    model,
    optimizer,
    batches,
    loss_fn,
    max_norm=None,
    clip_value=None,
    *,
    clip_after_step=False,
    log_after_clipping=False,
    zero_grad=True,
):
    history = {"loss": [], "grad_norm": []}
    parameters = list(model.parameters())

    def clip():
        if max_norm is not None:
            clipping.clip_grad_norm(parameters, max_norm)
        if clip_value is not None:
            clipping.clip_grad_value(parameters, clip_value)

    for inputs, targets in batches:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if log_after_clipping:
            clip()
        history["loss"].append(loss.item())
        history["grad_norm"].append(clipping.total_gradient_norm(parameters).item())
        if not math.isfinite(history["loss"][-1]):
            break
        if not (log_after_clipping or clip_after_step):
            clip()
        optimizer.step()
        if clip_after_step:
            clip()
    return history


TRAIN_WITH_CLIPPING = {
    "log the gradient norm after clipping instead of before": lambda *args: _train(*args, log_after_clipping=True),
    # Clipping before backward (nothing to clip yet) or after the step (too late) both leave every step
    # unclipped, so they give identical results and share one description.
    "clip outside the window between loss.backward() and optimizer.step(), so every step uses unclipped gradients": lambda *args: (
        _train(*args, clip_after_step=True)
    ),
    "forget optimizer.zero_grad() (each backward adds to the previous gradients)": lambda *args: _train(
        *args, zero_grad=False
    ),
}


# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "clip_grad_norm": {"clip_grad_norm": CLIP_GRAD_NORM},
    "clip_grad_value": {"clip_grad_value": CLIP_GRAD_VALUE},
    "train_with_clipping": {"train_with_clipping": TRAIN_WITH_CLIPPING},
}
