"""Lesson 06 (layer norm, group norm, dropout, DropConnect): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a function with the
exercise's signature that makes exactly that mistake. Random ones draw their masks exactly as the
exercise's docstring says (unless the mask is their mistake), so with the same generator they reproduce a
student's output exactly.

The graded cells block the names in MUST_NOT_CALL while an answer runs as the student's, and test_lesson_mistakes
runs these wrong answers as the student's: so they compute with their own helpers and names bound here at import,
which the block does not replace. Only the answer in HANDED_OVER calls a blocked name.
"""

import functools

import numpy as np
import torch

from reference_impl.regularization import dropout, keep_mask


def _centered_in_place(x, axes):
    x -= x.mean(axis=axes, keepdims=True)
    return x


def _std_cached(x, gamma, beta, eps=1e-5):
    out, cache = _layer_norm(x, gamma, beta, eps)
    return out, {**cache, "inv_std": 1.0 / cache["inv_std"]}


def _layer_norm_by_torch(x, gamma, beta, eps=1e-5):
    out = torch.nn.functional.layer_norm(
        torch.from_numpy(x), gamma.shape, torch.from_numpy(gamma), torch.from_numpy(beta), eps
    )
    return out.numpy(), _layer_norm(x, gamma, beta, eps)[1]


def _layer_norm(x, gamma, beta, eps=1e-5, *, axes=None, ddof=0, eps_inside_root=True):
    """Layer norm over `axes` (default: the trailing gamma.ndim axes) with one detail changeable; returns (out, cache)."""
    axes = tuple(range(x.ndim - gamma.ndim, x.ndim)) if axes is None else axes
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    inv_std = 1.0 / np.sqrt(var + eps) if eps_inside_root else 1.0 / (np.sqrt(var) + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}


LAYER_NORM_FORWARD = {
    "normalize each feature over the batch axis (that is batch norm) instead of each example over its features": lambda x, gamma, beta, eps=1e-5: (
        _layer_norm(x, gamma, beta, eps, axes=(0,))
    ),
    "normalize over the last axis only, whatever the shape of gamma": lambda x, gamma, beta, eps=1e-5: _layer_norm(
        x, gamma, beta, eps, axes=(-1,)
    ),
    "normalize with the unbiased variance (dividing by D − 1; PyTorch uses the biased one)": lambda x, gamma, beta, eps=1e-5: (
        _layer_norm(x, gamma, beta, eps, ddof=1)
    ),
    "add eps outside the square root (σ + ε instead of √(σ² + ε))": lambda x, gamma, beta, eps=1e-5: _layer_norm(
        x, gamma, beta, eps, eps_inside_root=False
    ),
    "forget the scale and shift (return x̂ instead of γ·x̂ + β)": lambda x, gamma, beta, eps=1e-5: (
        lambda _out, cache: (cache["x_hat"], cache)
    )(*_layer_norm(x, gamma, beta, eps)),
    "ignore eps (always using the default 1e-5)": lambda x, gamma, beta, eps=1e-5: _layer_norm(x, gamma, beta),
    "cache the standard deviation √(σ² + ε) as inv_std instead of its inverse 1/√(σ² + ε)": _std_cached,
    "center x in place (x -= mean), changing the caller's array": lambda x, gamma, beta, eps=1e-5: _layer_norm(
        _centered_in_place(x, tuple(range(x.ndim - gamma.ndim, x.ndim))), gamma, beta, eps
    ),
}


def _layer_norm_backward_parts(dout, cache):
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    example_axes = tuple(range(dout.ndim - gamma.ndim))
    feature_axes = tuple(range(dout.ndim - gamma.ndim, dout.ndim))
    return x_hat, inv_std, gamma, example_axes, feature_axes


def _scaled_in_place(values, factor):
    values *= factor
    return values


def _layer_norm_backward(dout, cache, *, axes=None, use_gamma=True, through_statistics=True):
    x_hat, inv_std, gamma, example_axes, feature_axes = _layer_norm_backward_parts(dout, cache)
    axes = feature_axes if axes is None else axes
    dx_hat = dout * gamma if use_gamma else dout
    dx = (
        inv_std
        * (dx_hat - dx_hat.mean(axis=axes, keepdims=True) - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True))
        if through_statistics
        else dx_hat * inv_std
    )
    return dx, (dout * x_hat).sum(axis=example_axes), dout.sum(axis=example_axes)


LAYER_NORM_BACKWARD = {
    "treat each example's mean and variance as constants (dx = γ·dout/σ, forgetting that they depend on x)": lambda dout, cache: (
        _layer_norm_backward(dout, cache, through_statistics=False)
    ),
    "take the means in dx over the batch axis (batch norm's backward) instead of over each example's features": lambda dout, cache: (
        _layer_norm_backward(dout, cache, axes=(0,))
    ),
    "forget the factor γ in dx (use dout where dx̂ = γ·dout belongs)": lambda dout, cache: _layer_norm_backward(
        dout, cache, use_gamma=False
    ),
    "compute dgamma as Σ dout, like dbeta, instead of Σ dout·x̂": lambda dout, cache: (
        lambda dx, _dg, db: (dx, db.copy(), db)
    )(*_layer_norm_backward(dout, cache)),
    "scale dout by γ in place (dout *= gamma), changing the caller's array": lambda dout, cache: _layer_norm_backward(
        _scaled_in_place(dout, cache["gamma"]), cache, use_gamma=False
    ),
}


def _group_norm(x, num_groups, gamma, beta, eps, grouped, ungroup):
    """Normalize the rows of `grouped(x)` (each row one group), map back with `ungroup`, then per-channel affine."""
    rows = grouped(x)
    x_hat = ungroup((rows - rows.mean(axis=-1, keepdims=True)) / np.sqrt(rows.var(axis=-1, keepdims=True) + eps), x)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape)


def _strided_groups(x, num_groups, gamma, beta, eps=1e-5):
    # Channel c in group c mod G: (N, C/G, G, ...) with the group axis moved forward.
    def grouped(x):
        split = x.reshape(x.shape[0], x.shape[1] // num_groups, num_groups, -1)
        return split.transpose(0, 2, 1, 3).reshape(x.shape[0], num_groups, -1)

    def ungroup(rows, x):
        split = rows.reshape(x.shape[0], num_groups, x.shape[1] // num_groups, -1).transpose(0, 2, 1, 3)
        return split.reshape(x.shape)

    return _group_norm(x, num_groups, gamma, beta, eps, grouped, ungroup)


def _groups_across_batch(x, num_groups, gamma, beta, eps=1e-5):
    # Each group normalized over the whole batch: the examples' statistics mixed together.
    def grouped(x):
        return x.reshape(x.shape[0], num_groups, -1).transpose(1, 0, 2).reshape(num_groups, -1)

    def ungroup(rows, x):
        return rows.reshape(num_groups, x.shape[0], -1).transpose(1, 0, 2).reshape(x.shape)

    return _group_norm(x, num_groups, gamma, beta, eps, grouped, ungroup)


def _groups_of_positions(x, num_groups, gamma, beta, eps=1e-5):
    # Groups cut along the last (spatial) axis instead of the channel axis.
    def grouped(x):
        moved = np.moveaxis(x, -1, 1)
        return moved.reshape(x.shape[0], num_groups, -1)

    def ungroup(rows, x):
        return np.moveaxis(rows.reshape(np.moveaxis(x, -1, 1).shape), 1, -1)

    return _group_norm(x, num_groups, gamma, beta, eps, grouped, ungroup)


def _consecutive_groups(x, num_groups, gamma, beta, eps=1e-5):
    # Torch's grouping, for the mistakes that get the rest wrong.
    return _group_norm(
        x,
        num_groups,
        gamma,
        beta,
        eps,
        lambda x: x.reshape(x.shape[0], num_groups, -1),
        lambda rows, x: rows.reshape(x.shape),
    )


def _normalized_in_place(x, num_groups, gamma, beta, eps=1e-5):
    # x.reshape is a view of x, so normalizing it in place normalizes the caller's array.
    rows = x.reshape(x.shape[0], num_groups, -1)
    rows -= rows.mean(axis=-1, keepdims=True)
    rows /= np.sqrt(rows.var(axis=-1, keepdims=True) + eps)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return gamma.reshape(shape) * x + beta.reshape(shape)


GROUP_NORM = {
    "form groups of strided channels (c, c + G, c + 2G, …) instead of consecutive ones (torch's grouping)": _strided_groups,
    "cut the groups along the last (spatial) axis instead of the channel axis": _groups_of_positions,
    "normalize each group over the whole batch instead of each example on its own": _groups_across_batch,
    "normalize each channel on its own (instance norm) whatever num_groups": lambda x, num_groups, gamma, beta, eps=1e-5: (
        _consecutive_groups(x, x.shape[1], gamma, beta, eps)
    ),
    "normalize the whole example at once (one group, layer norm) whatever num_groups": lambda x, num_groups, gamma, beta, eps=1e-5: (
        _consecutive_groups(x, 1, gamma, beta, eps)
    ),
    "ignore eps (always using the default 1e-5)": lambda x, num_groups, gamma, beta, eps=1e-5: _consecutive_groups(
        x, num_groups, gamma, beta
    ),
    "normalize x in place through a reshaped view (rows -= mean), changing the caller's array": _normalized_in_place,
}


def _masked(x, p, rng, scale, kept=keep_mask):
    return np.where(kept(np.shape(x), p, rng), np.asarray(x) * scale, 0.0)


def _kept_above(shape, p, rng):
    return rng.random(shape) > p


def _kept_below_one_minus_p(shape, p, rng):
    return rng.random(shape) < 1 - p


def _kept_by_the_global_generator(shape, p, _rng):
    return np.random.random(shape) >= p


def _inverted(x, p, training, rng, kept):
    """Inverted dropout with the mask `kept(shape, p, rng)` in place of the docstring's."""
    if not training or p == 0:
        return np.asarray(x)
    if p == 1:
        return np.zeros_like(x, dtype=float)
    return _masked(x, p, rng, 1 / (1 - p), kept)


def _dropped_in_place(values, p, training, rng):
    if training and p > 0:
        values *= keep_mask(values.shape, p, rng) / (1 - p) if p < 1 else 0.0
    return values


DROPOUT = {
    "forget the 1/(1 − p) scaling of the kept values": lambda x, p, training, rng: (
        _masked(x, p, rng, 1.0) if training else np.asarray(x)
    ),
    "multiply the kept values by (1 − p) instead of dividing by it": lambda x, p, training, rng: (
        _masked(x, p, rng, 1 - p) if training else np.asarray(x)
    ),
    "treat p as the probability of keeping a value instead of dropping it": lambda x, p, training, rng: (
        _masked(x, 1 - p, rng, 1 / p) if training else np.asarray(x)
    ),
    "keep dropping values in evaluation mode (dropout must be the identity there)": lambda x, p, training, rng: dropout(
        x, p, True, rng
    ),
    "keep a value only where rng.random(x.shape) > p (strictly), dropping it at a tie": functools.partial(
        _inverted, kept=_kept_above
    ),
    "keep the values where rng.random(x.shape) < 1 − p (the right rate, but not the docstring's mask)": (
        functools.partial(_inverted, kept=_kept_below_one_minus_p)
    ),
    "draw the mask from NumPy's global generator (np.random.random) instead of rng": functools.partial(
        _inverted, kept=_kept_by_the_global_generator
    ),
    "zero and scale x in place (x *= mask / (1 − p)), changing the caller's array": _dropped_in_place,
}


def _transposed_mask(x, weight, bias, p, training, rng):
    return np.asarray(x) @ dropout(weight.T, p, training, rng) + bias


def _weights_dropped_in_place(x, weight, bias, p, training, rng):
    return np.asarray(x) @ _dropped_in_place(weight, p, training, rng).T + bias


DROP_CONNECT = {
    "drop the layer's outputs instead of its weights (that is dropout, not DropConnect)": lambda x, weight, bias, p, training, rng: (
        dropout(np.asarray(x) @ weight.T + bias, p, training, rng)
    ),
    "forget the 1/(1 − p) scaling of the kept weights": lambda x, weight, bias, p, training, rng: (
        np.asarray(x) @ (_masked(weight, p, rng, 1.0) if training else weight).T + bias
    ),
    "drop the bias together with the weights": lambda x, weight, bias, p, training, rng: (
        np.asarray(x) @ dropout(weight, p, training, rng).T + dropout(bias, p, training, rng)
    ),
    "keep dropping weights in evaluation mode": lambda x, weight, bias, p, training, rng: (
        np.asarray(x) @ dropout(weight, p, True, rng).T + bias
    ),
    "divide the bias by (1 − p) along with the kept weights": lambda x, weight, bias, p, training, rng: (
        np.asarray(x) @ dropout(weight, p, training, rng).T + (bias / (1 - p) if training and p < 1 else bias)
    ),
    "draw the mask in the transposed shape (dropout(weight.T).T) instead of rng.random(weight.shape) >= p": (
        _transposed_mask
    ),
    "drop the weights in place (weight *= mask / (1 − p)), changing the caller's array": _weights_dropped_in_place,
}

DROPOUT_VARIANCE = {
    "give the variance of the mask, p(1 − p), forgetting the 1/(1 − p) scaling": lambda p: p * (1 - p),
    "give E[y²] = 1/(1 − p) without subtracting the squared mean 1": lambda p: 1 / (1 - p),
    "divide by (1 − p)² (p/(1 − p)²)": lambda p: p / (1 - p) ** 2,
}


# What each exercise's answer must not call, checked while it runs (checks' `forbidden=`) and in its text
# (autograder/grading/integrity.py): torch's and the answer key's ready-made versions of what it asks for.
MUST_NOT_CALL = {
    "layer_norm_forward": (
        "torch.nn.functional.layer_norm",
        "torch.layer_norm",
        "torch.native_layer_norm",
        "torch.nn.LayerNorm",
        "reference_impl.norms.layer_norm_forward",
        "reference_impl.norms.LayerNorm",
    ),
    "layer_norm_backward": (
        "torch.autograd.backward",
        "torch.autograd.grad",
        "reference_impl.norms.layer_norm_backward",
        "reference_impl.norms.standardize_backward",
    ),
    "group_norm": (
        "torch.nn.functional.group_norm",
        "torch.group_norm",
        "torch.native_group_norm",
        "torch.nn.GroupNorm",
        "torch.nn.functional.layer_norm",
        "torch.layer_norm",
        "torch.nn.functional.batch_norm",
        "torch.batch_norm",
        "torch.nn.functional.instance_norm",
        "reference_impl.norms.group_norm_forward",
        "reference_impl.norms.GroupNorm",
        "reference_impl.norms.layer_norm_forward",
    ),
    "dropout": (
        "torch.nn.functional.dropout",
        "torch.dropout",
        "reference_impl.regularization.dropout",
        "reference_impl.regularization.Dropout",
    ),
    "drop_connect": (
        "torch.nn.functional.dropout",
        "torch.dropout",
        "reference_impl.regularization.dropout",
        "reference_impl.regularization.drop_connect_linear",
        "reference_impl.regularization.DropConnectLinear",
    ),
    "dropout_variance": (),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"layer_norm_forward": {"layer_norm_forward": _layer_norm_by_torch}}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "layer_norm_forward": {"layer_norm_forward": LAYER_NORM_FORWARD},
    "layer_norm_backward": {"layer_norm_backward": LAYER_NORM_BACKWARD},
    "group_norm": {"group_norm": GROUP_NORM},
    "dropout": {"dropout": DROPOUT},
    "drop_connect": {"drop_connect_linear": DROP_CONNECT},
    "dropout_variance": {"dropout_output_variance": DROPOUT_VARIANCE},
}
