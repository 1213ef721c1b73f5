"""Normalization layers: pure NumPy forward and backward passes first, torch modules on top.

Batch normalization (Ioffe & Szegedy, 2015) with PyTorch's conventions: statistics per channel
(axis 1) over the batch and every spatial position, the biased variance to normalize, the unbiased
variance in `running_var`, and ``running = (1 - momentum) * running + momentum * batch`` with
momentum 0.1 (many texts write the same update with 0.9 on the old value). Inputs are (N, C) or
(N, C, *spatial), as for torch.nn.BatchNorm1d and BatchNorm2d.
"""

import numpy as np
import torch
from torch import nn


def reduction_axes(ndim):
    """The axes batch norm averages over for an input of `ndim` dimensions: all but the channel axis 1."""
    if ndim < 2:
        raise ValueError(f"batch norm needs an input shaped (N, C) or (N, C, *spatial), got {ndim} dimension(s)")
    return (0, *range(2, ndim))


def _channel_shape(ndim):
    """Shape that broadcasts a per-channel vector (C,) against an input of `ndim` dimensions."""
    return (1, -1) + (1,) * (ndim - 2)


def values_per_channel(shape):
    """How many values each channel's statistics are computed from: N times the spatial size."""
    return int(np.prod(shape)) // shape[1]


def batch_norm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm: normalize each channel with its batch mean and biased variance.

    Returns ``(out, cache)`` with ``out = gamma * (x - mean) / sqrt(var + eps) + beta`` and
    ``cache = {"x_hat", "inv_std", "gamma", "mean", "var"}``: x_hat = (x - mean) / sqrt(var + eps) shaped
    like x, and per channel (shape (C,)) inv_std = 1 / sqrt(var + eps), gamma, the batch mean and the
    biased batch variance: what the backward pass and the running statistics need.
    """
    axes = reduction_axes(x.ndim)
    if values_per_channel(x.shape) < 2:
        raise ValueError(f"expected more than 1 value per channel when training, got input shape {x.shape}")
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # biased: divide by the count, as PyTorch normalizes
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    shape = _channel_shape(x.ndim)
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    cache = {
        "x_hat": x_hat,
        "inv_std": inv_std.reshape(-1),
        "gamma": gamma,
        "mean": mean.reshape(-1),
        "var": var.reshape(-1),
    }
    return out, cache


def batch_norm_backward(dout, cache):
    """Gradients ``(dx, dgamma, dbeta)`` of training-mode batch norm by the compact formula.

    With m values per channel and dx̂ = γ·dout:
    dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dγ = Σ dout·x̂, dβ = Σ dout (sums and means over the
    batch axes).
    """
    shape = _channel_shape(dout.ndim)
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"].reshape(shape), cache["gamma"].reshape(shape)
    axes = reduction_axes(dout.ndim)
    dgamma = (dout * x_hat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    dx = standardize_backward(dout * gamma, x_hat, inv_std, axes)
    return dx, dgamma, dbeta


def standardize_backward(dx_hat, x_hat, inv_std, axes):
    """Gradient through x̂ = (x − mean)/σ, mean and biased σ taken over `axes`: batch, layer and group norm share it.

    dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), the means over `axes`.
    """
    return inv_std * (
        dx_hat - dx_hat.mean(axis=axes, keepdims=True) - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)
    )


def batch_norm_backward_staged(dout, cache):
    """The same gradients as `batch_norm_backward`, by walking the forward graph back one node at a time.

    x̂ = (x − μ)·s with s = (σ² + ε)^(-1/2): the gradient reaches x directly, through μ and through σ².
    Longer, but each line is one chain-rule step; the compact formula is what these lines simplify to.
    """
    shape = _channel_shape(dout.ndim)
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"].reshape(shape), cache["gamma"].reshape(shape)
    axes = reduction_axes(dout.ndim)
    count = values_per_channel(dout.shape)
    centered = x_hat / inv_std  # x − μ
    dgamma = (dout * x_hat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    dx_hat = dout * gamma
    d_inv_std = (dx_hat * centered).sum(axis=axes, keepdims=True)
    d_var = d_inv_std * -0.5 * inv_std**3  # s = (σ² + ε)^(-1/2)
    d_centered = dx_hat * inv_std + d_var * 2.0 * centered / count  # σ² = mean((x − μ)²)
    d_mean = -d_centered.sum(axis=axes, keepdims=True)
    dx = d_centered + d_mean / count  # μ = mean(x)
    return dx, dgamma, dbeta


def update_running_stats(running_mean, running_var, batch_mean, batch_var, count, momentum=0.1):
    """PyTorch's running-statistics update: ``(1 - momentum) * running + momentum * batch``.

    `batch_var` is the biased batch variance (the one used to normalize); the running variance
    receives the unbiased one, batch_var · count / (count − 1), with `count` values per channel.
    Returns ``(new_running_mean, new_running_var)``.
    """
    unbiased_var = batch_var * count / (count - 1)
    return (
        (1 - momentum) * running_mean + momentum * batch_mean,
        (1 - momentum) * running_var + momentum * unbiased_var,
    )


def batch_norm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluation-mode batch norm: a fixed per-channel affine map using the running statistics."""
    shape = _channel_shape(x.ndim)
    x_hat = (x - running_mean.reshape(shape)) / np.sqrt(running_var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape)


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch norm as torch.nn.functional.batch_norm computes it, as a pure function.

    Training: normalize with the batch statistics and return updated running statistics.
    Evaluation: normalize with the running statistics and return them unchanged.
    Returns ``(out, new_running_mean, new_running_var)``.
    """
    if not training:
        return batch_norm_inference(x, gamma, beta, running_mean, running_var, eps), running_mean, running_var
    out, cache = batch_norm_forward(x, gamma, beta, eps)
    new_mean, new_var = update_running_stats(
        running_mean, running_var, cache["mean"], cache["var"], values_per_channel(x.shape), momentum
    )
    return out, new_mean, new_var


class BatchNormFunction(torch.autograd.Function):
    """Training-mode batch norm with the compact backward formula, in torch operations (any device).

    ``out, mean, var = BatchNormFunction.apply(x, weight, bias, eps)``: the normalized output, and the
    batch mean and biased variance per channel (not differentiable), for the running statistics.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        axes = reduction_axes(x.dim())
        shape = _channel_shape(x.dim())
        mean = x.mean(dim=axes, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
        inv_std = torch.rsqrt(var + eps)
        x_hat = (x - mean) * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        batch_mean, batch_var = mean.reshape(-1), var.reshape(-1)
        ctx.mark_non_differentiable(batch_mean, batch_var)
        return weight.reshape(shape) * x_hat + bias.reshape(shape), batch_mean, batch_var

    @staticmethod
    def backward(ctx, dout, _dmean, _dvar):
        x_hat, inv_std, weight = ctx.saved_tensors
        axes = reduction_axes(dout.dim())
        dx_hat = dout * weight.reshape(_channel_shape(dout.dim()))
        dx = inv_std * (
            dx_hat - dx_hat.mean(dim=axes, keepdim=True) - x_hat * (dx_hat * x_hat).mean(dim=axes, keepdim=True)
        )
        return dx, (dout * x_hat).sum(dim=axes), dout.sum(dim=axes), None


class BatchNorm(nn.Module):
    """Batch norm over channel axis 1 of (N, C) or (N, C, *spatial) inputs: torch.nn.BatchNorm1d/2d's behaviour.

    Same parameters (`weight` = γ, `bias` = β) and buffers (`running_mean`, `running_var`,
    `num_batches_tracked`) as torch's, so state dicts are interchangeable. ``momentum=None`` makes the
    running statistics a cumulative average over all batches seen, as in torch.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"expected input shaped (N, {self.num_features}, ...), got {tuple(x.shape)}")
        shape = _channel_shape(x.dim())
        if not self.training:
            x_hat = (x - self.running_mean.reshape(shape)) * torch.rsqrt(self.running_var.reshape(shape) + self.eps)
            return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)
        count = values_per_channel(tuple(x.shape))
        if count < 2:
            raise ValueError(f"expected more than 1 value per channel when training, got input shape {tuple(x.shape)}")
        out, mean, var = BatchNormFunction.apply(x, self.weight, self.bias, self.eps)
        with torch.no_grad():
            self.num_batches_tracked += 1
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            new_mean, new_var = update_running_stats(self.running_mean, self.running_var, mean, var, count, factor)
            self.running_mean.copy_(new_mean)
            self.running_var.copy_(new_var)
        return out

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


# ---------------------------------------------------------------------------------------------
# Layer normalization (Ba et al., 2016) and group normalization (Wu & He, 2018). Both normalize
# each example on its own, so, unlike batch norm, their output does not depend on the batch and
# training and evaluation compute the same thing (no running statistics).


def _normalize_last_axis(values, eps):
    """(x̂, inv_std) normalizing `values` over its last axis with the biased variance."""
    mean = values.mean(axis=-1, keepdims=True)
    var = ((values - mean) ** 2).mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return (values - mean) * inv_std, inv_std


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """Layer norm as torch.nn.LayerNorm(gamma.shape) computes it: per example, over the trailing axes.

    The last ``gamma.ndim`` axes of `x` are normalized together (mean and biased variance of each
    example, and each position of any leading axes), then scaled and shifted elementwise by `gamma`
    and `beta`, which have the shape of those trailing axes. Returns ``(out, cache)`` with ``cache =
    {"x_hat", "inv_std", "gamma"}``, x_hat shaped like x and inv_std shaped like x with the normalized
    axes of size 1.
    """
    gamma, beta = np.asarray(gamma), np.asarray(beta)
    trailing = x.shape[x.ndim - gamma.ndim :]
    if gamma.ndim == 0 or trailing != gamma.shape:
        raise ValueError(f"gamma's shape {gamma.shape} must be the trailing shape of x {x.shape}")
    leading = x.shape[: x.ndim - gamma.ndim]
    x_hat, inv_std = _normalize_last_axis(x.reshape(*leading, -1), eps)
    x_hat = x_hat.reshape(x.shape)
    inv_std = inv_std.reshape(*leading, *(1,) * gamma.ndim)
    return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}


def layer_norm_backward(dout, cache):
    """Gradients ``(dx, dgamma, dbeta)`` of `layer_norm_forward`.

    The batch-norm formula with the roles of the axes swapped: means over each example's normalized
    axes for dx, sums over the leading (example) axes for dgamma = Σ dout·x̂ and dbeta = Σ dout.
    """
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    leading = dout.shape[: dout.ndim - gamma.ndim]
    example_axes = tuple(range(len(leading)))
    dx = standardize_backward(
        (dout * gamma).reshape(*leading, -1), x_hat.reshape(*leading, -1), inv_std.reshape(*leading, 1), axes=-1
    )
    return dx.reshape(dout.shape), (dout * x_hat).sum(axis=example_axes), dout.sum(axis=example_axes)


def _grouped(x, num_groups):
    """x shaped (N, C, *spatial) viewed as (N, G, C/G · spatial): each row is one group of one example."""
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(
            f"num_groups={num_groups} must divide the channel count of an (N, C, ...) input, got shape {x.shape}"
        )
    return x.reshape(x.shape[0], num_groups, -1)


def group_norm_forward(x, num_groups, gamma, beta, eps=1e-5):
    """Group norm as torch.nn.GroupNorm(num_groups, C) computes it, for x shaped (N, C, *spatial).

    Channels are split into `num_groups` groups of consecutive channels (0 … C/G − 1 first); each
    example's group is normalized over its channels and all spatial positions, then `gamma` and
    `beta` (shape (C,)) scale and shift each channel. One group is layer norm over (C, *spatial)
    with per-channel affine; C groups is instance norm. Returns ``(out, cache)`` with ``cache =
    {"x_hat", "inv_std", "gamma", "num_groups"}``, inv_std shaped (N, G, 1).
    """
    x_hat, inv_std = _normalize_last_axis(_grouped(x, num_groups), eps)
    x_hat = x_hat.reshape(x.shape)
    shape = _channel_shape(x.ndim)
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    return out, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "num_groups": num_groups}


def group_norm_backward(dout, cache):
    """Gradients ``(dx, dgamma, dbeta)`` of `group_norm_forward`: layer norm's backward within each group."""
    x_hat, inv_std, gamma, groups = cache["x_hat"], cache["inv_std"], cache["gamma"], cache["num_groups"]
    channel_axes = reduction_axes(dout.ndim)  # all but the channel axis
    dx_hat = dout * gamma.reshape(_channel_shape(dout.ndim))
    dx = standardize_backward(_grouped(dx_hat, groups), _grouped(x_hat, groups), inv_std, axes=-1)
    return dx.reshape(dout.shape), (dout * x_hat).sum(axis=channel_axes), dout.sum(axis=channel_axes)


class LayerNorm(nn.Module):
    """torch.nn.LayerNorm(normalized_shape, eps) in plain torch operations (autograd does the backward)."""

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape))
        self.bias = nn.Parameter(torch.zeros(self.normalized_shape))

    def forward(self, x):
        axes = tuple(range(-len(self.normalized_shape), 0))
        mean = x.mean(dim=axes, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
        return self.weight * (x - mean) * torch.rsqrt(var + self.eps) + self.bias

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class GroupNorm(nn.Module):
    """torch.nn.GroupNorm(num_groups, num_channels, eps) in plain torch operations."""

    def __init__(self, num_groups, num_channels, eps=1e-5):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x):
        grouped = x.reshape(x.shape[0], self.num_groups, -1)
        mean = grouped.mean(dim=-1, keepdim=True)
        var = ((grouped - mean) ** 2).mean(dim=-1, keepdim=True)
        x_hat = ((grouped - mean) * torch.rsqrt(var + self.eps)).reshape(x.shape)
        shape = _channel_shape(x.dim())
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"
