"""Lesson 05 (gradient clipping): plausible wrong answers to each exercise, and what each exercise must not call.

Each dict maps a description that completes "That is what you get if you ..." to a function with the
exercise's signature that makes exactly that mistake. Like the exercises, they change `.grad` in place.

The graded cells block the names in MUST_NOT_CALL while an answer runs as the student's, and test_lesson_mistakes
runs these wrong answers as the student's: so they clip with their own `_scale_all` and `_clamp`, and only the
answer in HANDED_OVER calls a blocked name.
"""

import functools
import math

import torch

from reference_impl.clipping import NORM_EPSILON, parameter_list, total_gradient_norm


def _gradients(parameters):
    return [p for p in parameter_list(parameters) if p.grad is not None]


def _nonfinite_error(total):
    return RuntimeError(f"The total norm of the gradients is non-finite ({total.item()}), so it cannot be clipped.")


@torch.no_grad()
def _scale_all(
    parameters,
    max_norm,
    norm_type=2.0,
    error_if_nonfinite=False,
    *,
    listed=True,
    fixed_norm_type=None,
    nonfinite_error="before",
    epsilon=NORM_EPSILON,
    clamp=True,
    only_above=False,
    target="grad",
    returned="before",
):
    """clip_grad_norm with one detail changeable; with the defaults it is the right answer."""
    if listed:
        parameters = parameter_list(parameters)
    total = total_gradient_norm(parameters, norm_type if fixed_norm_type is None else fixed_norm_type)
    nonfinite = error_if_nonfinite and not math.isfinite(total.item())
    if nonfinite and nonfinite_error == "before":
        raise _nonfinite_error(total)
    scale = max_norm / (total + epsilon)
    if clamp:
        scale = torch.clamp(scale, max=1.0)
    if not (only_above and total <= max_norm):
        for p in _gradients(parameters):
            if target == "new grad":
                p.grad = p.grad * scale
            else:
                (p.grad if target == "grad" else p).mul_(scale)
    if nonfinite and nonfinite_error == "after":
        raise _nonfinite_error(total)
    if returned == "after":
        return total_gradient_norm(parameters, norm_type)
    return total.item() if returned == "float" else total


@torch.no_grad()
def _per_tensor(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    parameters = parameter_list(parameters)
    total = total_gradient_norm(parameters, norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise _nonfinite_error(total)
    for p in _gradients(parameters):
        _scale_all([p], max_norm, norm_type)
    return total


def _handing_over_to_torch(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


CLIP_GRAD_NORM = {
    "clip each tensor by its own norm instead of by the global norm of all gradients together": _per_tensor,
    "leave out the clamp at 1 (gradients shorter than max_norm get scaled up to it)": functools.partial(
        _scale_all, clamp=False
    ),
    "scale the parameters instead of their gradients": functools.partial(_scale_all, target="param"),
    "return the norm after clipping instead of the norm before": functools.partial(_scale_all, returned="after"),
    "always use the 2-norm, ignoring norm_type": functools.partial(_scale_all, fixed_norm_type=2.0),
    # Before the 1e-6 below: exactly at the tie, max_norm / total is 1 too, so both leave the gradients alone.
    "clip only when the total norm exceeds max_norm (if total > max_norm), leaving the gradients alone at the tie "
    "where torch multiplies them by max_norm / (total + 1e-6)": functools.partial(_scale_all, only_above=True),
    "divide by the total norm alone, without the 1e-6 (max_norm / total instead of max_norm / (total + 1e-6))": (
        functools.partial(_scale_all, epsilon=0.0)
    ),
    "replace each .grad by a new tensor (p.grad = p.grad * scale) instead of scaling it in place": functools.partial(
        _scale_all, target="new grad"
    ),
    "return the total norm as a Python float instead of a tensor": functools.partial(_scale_all, returned="float"),
    "go over `parameters` twice (a generator such as model.parameters() is empty the second time: make a list "
    "first)": functools.partial(_scale_all, listed=False),
    "ignore error_if_nonfinite (never raising RuntimeError)": functools.partial(_scale_all, nonfinite_error="never"),
    "raise the RuntimeError only after scaling the gradients (they must be left as they were)": functools.partial(
        _scale_all, nonfinite_error="after"
    ),
}


@torch.no_grad()
def _clamp(parameters, clip_value, *, low=True, target="grad", clipped_to_zero=False):
    """clip_grad_value with one detail changeable; with the defaults it is the right answer."""
    for p in _gradients(parameters):
        if target == "new grad":
            p.grad = p.grad.clamp(min=-clip_value, max=clip_value)
            continue
        tensor = p.grad if target == "grad" else p
        if clipped_to_zero:
            tensor.masked_fill_(tensor.abs() > clip_value, 0.0)
        else:
            tensor.clamp_(min=-clip_value if low else None, max=clip_value)


CLIP_GRAD_VALUE = {
    "clamp only from above (min(g, c)), leaving large negative coordinates": functools.partial(_clamp, low=False),
    "clamp the parameters instead of their gradients": functools.partial(_clamp, target="param"),
    "set the coordinates beyond ±c to zero instead of to ±c": functools.partial(_clamp, clipped_to_zero=True),
    "replace each .grad by a clamped copy (p.grad = p.grad.clamp(-c, c)) instead of clamping it in place": (
        functools.partial(_clamp, target="new grad")
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
    value_first=False,
    stops_at=lambda loss: not math.isfinite(loss),
    record_before_stopping=True,
    as_floats=True,
):
    """train_with_clipping with one detail changeable; with the defaults it is the right answer."""
    history = {"loss": [], "grad_norm": []}
    parameters = list(model.parameters())

    def clip():
        clippings = [
            (max_norm, lambda: _scale_all(parameters, max_norm)),
            (clip_value, lambda: _clamp(parameters, clip_value)),
        ]
        for threshold, clip_by in reversed(clippings) if value_first else clippings:
            if threshold is not None:
                clip_by()

    for inputs, targets in batches:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if log_after_clipping:
            clip()
        stop = stops_at(loss.item())
        if stop and not record_before_stopping:
            break
        norm = total_gradient_norm(parameters)
        history["loss"].append(loss.item() if as_floats else loss.detach())
        history["grad_norm"].append(norm.item() if as_floats else norm)
        if stop:
            break
        if not (log_after_clipping or clip_after_step):
            clip()
        optimizer.step()
        if clip_after_step:
            clip()
    return history


TRAIN_WITH_CLIPPING = {
    "log the gradient norm after clipping instead of before": functools.partial(_train, log_after_clipping=True),
    # Clipping before backward (nothing to clip yet) or after the step (too late) both leave every step
    # unclipped, so they give identical results and share one description.
    "clip outside the window between loss.backward() and optimizer.step(), so every step uses unclipped gradients": (
        functools.partial(_train, clip_after_step=True)
    ),
    "forget optimizer.zero_grad() (each backward adds to the previous gradients)": functools.partial(
        _train, zero_grad=False
    ),
    "clip by value before clipping by norm (norm first, then value)": functools.partial(_train, value_first=True),
    "keep training after a NaN or infinite loss instead of stopping at it": functools.partial(
        _train, stops_at=lambda loss: False
    ),
    "stop at a NaN loss only, not at an infinite one (math.isnan instead of not math.isfinite)": functools.partial(
        _train, stops_at=math.isnan
    ),
    "stop at a NaN or infinite loss without recording it (record it, then stop)": functools.partial(
        _train, record_before_stopping=False
    ),
    "record tensors (loss.detach(), the norm tensor) instead of Python floats (.item())": functools.partial(
        _train, as_floats=False
    ),
}

# Torch's and the answer key's ready-made versions of each exercise: a graded cell fails an answer that calls one.
# Nothing the answer key's own answer calls is among them (its clip_grad_norm calls total_gradient_norm, say), so
# that it passes the hidden tests as a student's answer.
_TORCH_CLIP_GRAD_NORM = (
    "torch.nn.utils.clip_grad_norm_",
    "torch.nn.utils.clip_grad.clip_grad_norm_",
    "torch.nn.utils.clip_grad_norm",
    "torch.nn.utils.clip_grad.clip_grad_norm",
    "torch.nn.utils.clip_grads_with_norm_",
)
_TORCH_CLIP_GRAD_VALUE = ("torch.nn.utils.clip_grad_value_", "torch.nn.utils.clip_grad.clip_grad_value_")
MUST_NOT_CALL = {
    "clip_grad_norm": (
        *_TORCH_CLIP_GRAD_NORM,
        "torch.nn.utils.get_total_norm",
        "reference_impl.clipping.clip_grad_norm",
    ),
    "clip_grad_value": (*_TORCH_CLIP_GRAD_VALUE, "reference_impl.clipping.clip_grad_value"),
    # The lesson asks the loop to clip with the student's own functions, not torch's.
    "train_with_clipping": (
        "reference_impl.clipping.train_with_clipping",
        *_TORCH_CLIP_GRAD_NORM,
        *_TORCH_CLIP_GRAD_VALUE,
    ),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"clip_grad_norm": {"clip_grad_norm": _handing_over_to_torch}}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "clip_grad_norm": {"clip_grad_norm": CLIP_GRAD_NORM},
    "clip_grad_value": {"clip_grad_value": CLIP_GRAD_VALUE},
    "train_with_clipping": {"train_with_clipping": TRAIN_WITH_CLIPPING},
}
