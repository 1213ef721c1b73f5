r"""Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_ do it.

Norm clipping treats the gradients of all parameters as one long vector $g$ and rescales it when it is
too long, keeping its direction:

$$\|g\|_p = \Big(\sum_i \|g_i\|_p^p\Big)^{1/p}, \qquad
  g \leftarrow g \cdot \min\Big(1, \frac{c}{\|g\|_p + 10^{-6}}\Big).$$

Value clipping clamps every coordinate to $[-c, c]$ separately, which changes the direction whenever
some coordinates are clamped and others are not. Both change `.grad` in place and skip parameters
without a gradient.
"""

import math

import torch

# Added to the total norm before dividing, as PyTorch does, so a zero gradient gives a finite scale.
NORM_EPSILON = 1e-6


def parameter_list(parameters):
    """A single tensor or any iterable of tensors (a generator too) as a list, as torch accepts them."""
    return [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)


@torch.no_grad()
def total_gradient_norm(parameters, norm_type=2.0):
    """The p-norm of all gradients of `parameters` seen as one vector (tensor); parameters without one are skipped.

    Computed as torch does, as the norm of the per-tensor norms; 0.0 when no parameter has a gradient.
    """
    grads = [p.grad for p in parameter_list(parameters) if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    norm_type = float(norm_type)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g, norm_type) for g in grads]), norm_type)


@torch.no_grad()
def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their total `norm_type`-norm is at most about `max_norm`.

    Same behaviour as torch.nn.utils.clip_grad_norm_: the scale is max_norm / (total + 1e-6), clamped
    at 1 so small gradients are never enlarged; returns the total norm *before* clipping (a tensor).
    With `error_if_nonfinite`, a NaN or infinite total norm raises RuntimeError and nothing changes;
    without it the gradients are multiplied by the resulting NaN (or 0) scale, as torch does.
    """
    parameters = parameter_list(parameters)
    total = total_gradient_norm(parameters, norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {float(norm_type)} of the gradients is non-finite "
            f"({total.item()}), so it cannot be clipped."
        )
    # No `if scale < 1` branch: clamping keeps the same arithmetic whatever the norm, as torch does.
    scale = torch.clamp(float(max_norm) / (total + NORM_EPSILON), max=1.0)
    for p in parameters:
        if p.grad is not None:
            p.grad.mul_(scale.to(p.grad.device))
    return total


@torch.no_grad()
def clip_grad_value(parameters, clip_value):
    """Clamp every gradient coordinate to [-clip_value, clip_value] in place, as torch.nn.utils.clip_grad_value_.

    With no gradient at all it does nothing (torch 2.13's clip_grad_value_ raises an internal error there).
    """
    clip_value = float(clip_value)
    for p in parameter_list(parameters):
        if p.grad is not None:
            p.grad.clamp_(min=-clip_value, max=clip_value)


def train_with_clipping(model, optimizer, batches, loss_fn, max_norm=None, clip_value=None):
    """Train on each `(inputs, targets)` of `batches`, clipping gradients between backward and step.

    Per step: zero the gradients, forward, backward, record the total 2-norm of the gradients *before*
    any clipping, clip by norm (`max_norm`) and/or by value (`clip_value`) when given, then step.
    Stops after the first step whose loss is NaN or infinite (that loss is recorded, no step is taken).
    Returns ``{"loss": [...], "grad_norm": [...]}`` as Python floats, one entry per step taken.
    """
    history = {"loss": [], "grad_norm": []}
    parameters = [p for p in model.parameters() if p.requires_grad]
    for inputs, targets in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        history["loss"].append(loss.item())
        history["grad_norm"].append(total_gradient_norm(parameters).item())
        if not math.isfinite(history["loss"][-1]):
            break
        if max_norm is not None:
            clip_grad_norm(parameters, max_norm)
        if clip_value is not None:
            clip_grad_value(parameters, clip_value)
        optimizer.step()
    return history
