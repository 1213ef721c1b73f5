"""Lesson 03 (batch norm): plausible wrong answers to each exercise, and what each exercise must not call.

Each dict maps a description that completes "That is what you get if you ..." to a function (or,
for the module, a class) with the exercise's signature that makes exactly that mistake.

The graded cells block the names in MUST_NOT_CALL while an answer runs as the student's, and
test_lesson_mistakes runs these wrong answers as the student's: so they reach the answer key's backward pass
through a name bound here at import, which the block does not replace. Only the answer in HANDED_OVER calls a
blocked name.
"""

import numpy as np
import torch

from reference_impl import norms
from reference_impl.norms import batch_norm_backward as _reference_backward


def _per_channel(ndim):
    """Shape that broadcasts a per-channel vector (C,) against an (N, C, *spatial) input."""
    return (1, -1) + (1,) * (ndim - 2)


def _forward(x, gamma, beta, eps=1e-5, *, ddof=0, eps_inside_root=True, axes=None, affine=True):
    """Training-mode batch norm with one detail changeable, returning the exercise's (out, cache)."""
    axes = norms.reduction_axes(x.ndim) if axes is None else axes
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    inv_std = 1.0 / np.sqrt(var + eps) if eps_inside_root else 1.0 / (np.sqrt(var) + eps)
    x_hat = (x - mean) * inv_std
    shape = _per_channel(x.ndim)
    out = gamma.reshape(shape) * x_hat + beta.reshape(shape) if affine else x_hat
    return out, {
        "x_hat": x_hat,
        "inv_std": inv_std.reshape(-1),
        "gamma": gamma,
        "mean": mean.reshape(-1),
        "var": var.reshape(-1),
    }


def _normalizing_x_in_place(x, gamma, beta, eps):
    out, cache = _forward(x, gamma, beta, eps)
    x[...] = cache["x_hat"]
    return out, cache


FORWARD = {
    "normalize with the unbiased variance (dividing by N − 1; PyTorch normalizes with the biased one)": lambda x, gamma, beta, eps=1e-5: (
        _forward(x, gamma, beta, eps, ddof=1)
    ),
    "add eps outside the square root (σ + ε instead of √(σ² + ε))": lambda x, gamma, beta, eps=1e-5: _forward(
        x, gamma, beta, eps, eps_inside_root=False
    ),
    "normalize each example over its features (axis 1, that is layer norm) instead of each feature over the batch": lambda x, gamma, beta, eps=1e-5: (
        _forward(x, gamma, beta, eps, axes=(1,))
    ),
    "forget the scale and shift (return x̂ instead of γ·x̂ + β)": lambda x, gamma, beta, eps=1e-5: _forward(
        x, gamma, beta, eps, affine=False
    ),
    "ignore the eps argument (always using 1e-5)": lambda x, gamma, beta, eps=1e-5: _forward(x, gamma, beta),
    "normalize x in place (x -= mean, x *= 1/σ), changing the caller's array, instead of into a new array": (
        lambda x, gamma, beta, eps=1e-5: _normalizing_x_in_place(x, gamma, beta, eps)
    ),
}


def _backward_parts(dout, cache):
    shape = _per_channel(dout.ndim)
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"].reshape(shape), cache["gamma"].reshape(shape)
    return x_hat, inv_std, dout * gamma, norms.reduction_axes(dout.ndim)


def _stats_as_constants(dout, cache):
    x_hat, inv_std, dx_hat, axes = _backward_parts(dout, cache)
    return dx_hat * inv_std, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)


def _without_gamma(dout, cache):
    _dx, dgamma, dbeta = _reference_backward(dout, cache)
    x_hat, inv_std, _dx_hat, axes = _backward_parts(dout, cache)
    dx = inv_std * (dout - dout.mean(axis=axes, keepdims=True) - x_hat * (dout * x_hat).mean(axis=axes, keepdims=True))
    return dx, dgamma, dbeta


def _zero_affine_gradients(dout, cache):
    dx, dgamma, dbeta = _reference_backward(dout, cache)
    return dx, np.zeros_like(dgamma), np.zeros_like(dbeta)


def _dgamma_without_x_hat(dout, cache):
    dx, _dgamma, dbeta = _reference_backward(dout, cache)
    return dx, dbeta.copy(), dbeta


def _without_mean_path(dout, cache):
    x_hat, inv_std, dx_hat, axes = _backward_parts(dout, cache)
    dx = inv_std * (dx_hat - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True))
    return dx, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)


def _scaling_dout_in_place(dout, cache):
    gradients = _reference_backward(dout, cache)
    dout *= cache["gamma"].reshape(_per_channel(dout.ndim))  # dx̂ = dout; dx̂ *= γ
    return gradients


BACKWARD = {
    "treat the batch mean and variance as constants (dx = γ·dout/σ, forgetting that they depend on x)": _stats_as_constants,
    "drop the gradient through the batch mean (the − mean(dx̂) term)": _without_mean_path,
    "forget the factor γ in dx (use dout where dx̂ = γ·dout belongs)": _without_gamma,
    "return zeros for the gradients of gamma and beta": _zero_affine_gradients,
    "compute dgamma as Σ dout, like dbeta, instead of Σ dout·x̂": _dgamma_without_x_hat,
    "scale dout by γ in place (dx̂ = dout; dx̂ *= γ), changing the caller's dout": _scaling_dout_in_place,
}


def _batch_norm(
    x,
    gamma,
    beta,
    running_mean,
    running_var,
    training,
    momentum=0.1,
    eps=1e-5,
    *,
    ddof_normalize=0,
    ddof_running=1,
    reverse_momentum=False,
    update_in_eval=False,
    batch_stats_in_eval=False,
    eps_inside_root=True,
    in_place=False,
):
    """The exercise's batch_norm(...) -> (out, running_mean, running_var) with one detail changeable."""
    out, cache = _forward(x, gamma, beta, eps, ddof=ddof_normalize, eps_inside_root=eps_inside_root)
    axes = norms.reduction_axes(x.ndim)
    batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes, ddof=ddof_running)
    keep = momentum if reverse_momentum else 1 - momentum
    new_mean = keep * running_mean + (1 - keep) * batch_mean
    new_var = keep * running_var + (1 - keep) * batch_var
    if training and in_place:
        running_mean[...], running_var[...] = new_mean, new_var
        return out, running_mean, running_var
    if training:
        return out, new_mean, new_var
    if not batch_stats_in_eval:
        shape = _per_channel(x.ndim)
        std = (np.sqrt(running_var + eps) if eps_inside_root else np.sqrt(running_var) + eps).reshape(shape)
        out = gamma.reshape(shape) * (x - running_mean.reshape(shape)) / std + beta.reshape(shape)
    return (out, new_mean, new_var) if update_in_eval else (out, running_mean, running_var)


def _variant(**mistake):
    return lambda *args, **kwargs: _batch_norm(*args, **kwargs, **mistake)


def _ignoring(**fixed):
    """The exercise's batch_norm ignoring the arguments in `fixed`, always using these values."""

    def wrong(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        settings = {"momentum": momentum, "eps": eps, **fixed}
        return _batch_norm(x, gamma, beta, running_mean, running_var, training, **settings)

    return wrong


RUNNING = {
    "update the running statistics in evaluation mode too (they must only change in training mode)": _variant(
        update_in_eval=True
    ),
    "reverse the momentum convention (PyTorch's momentum 0.1 weights the new batch: "
    "running = 0.9·running + 0.1·batch)": _variant(reverse_momentum=True),
    "store the biased batch variance in running_var (PyTorch stores the unbiased one, × N/(N − 1))": _variant(
        ddof_running=0
    ),
    "normalize with the unbiased variance (dividing by N − 1; PyTorch normalizes with the biased one)": _variant(
        ddof_normalize=1
    ),
    "normalize with the batch statistics in evaluation mode instead of the running ones": _variant(
        batch_stats_in_eval=True
    ),
    "add eps outside the square root (σ + ε instead of √(σ² + ε))": _variant(eps_inside_root=False),
    "update running_mean and running_var in place (running_mean *= 1 - momentum, ...) instead of returning new "
    "arrays": _variant(in_place=True),
    "ignore the momentum argument (always using 0.1)": _ignoring(momentum=0.1),
    "ignore the eps argument (always using 1e-5)": _ignoring(eps=1e-5),
}


class _WrongBatchNorm(norms.BatchNorm):
    """The reference module with one of RUNNING's mistakes, computed through autograd in float64."""

    mistake = {}

    def forward(self, x):
        values = [tensor.detach().double().numpy().copy() for tensor in (self.running_mean, self.running_var)]
        momentum = 1.0 / (float(self.num_batches_tracked) + 1) if self.momentum is None else self.momentum
        _out, new_mean, new_var = _batch_norm(
            x.detach().double().numpy(),
            np.ones(self.num_features),
            np.zeros(self.num_features),
            *values,
            self.training,
            momentum,
            self.eps,
            **self.mistake,
        )
        with torch.no_grad():
            self.running_mean.copy_(torch.from_numpy(np.asarray(new_mean)))
            self.running_var.copy_(torch.from_numpy(np.asarray(new_var)))
            self.num_batches_tracked += int(self.training)
        return self._normalize(x, values)

    def _normalize(self, x, running):
        """The output with autograd, so its gradients are compared too."""
        shape = _per_channel(x.dim())
        eps_inside = self.mistake.get("eps_inside_root", True)
        if self.training or self.mistake.get("batch_stats_in_eval"):
            axes = norms.reduction_axes(x.dim())
            mean = x.mean(dim=axes, keepdim=True)
            var = x.var(dim=axes, keepdim=True, unbiased=bool(self.mistake.get("ddof_normalize")))
        else:
            mean, var = (torch.as_tensor(value, dtype=x.dtype).reshape(shape) for value in running)
        std = torch.sqrt(var + self.eps) if eps_inside else torch.sqrt(var) + self.eps
        return self.weight.reshape(shape) * (x - mean) / std + self.bias.reshape(shape)


def _module_variant(name, **mistake):
    return type(name, (_WrongBatchNorm,), {"mistake": mistake})


class _AffineWithoutGradients(norms.BatchNorm):
    """Right values, but γ and β are plain tensors: autograd gives them no gradient."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        del self.weight, self.bias
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))


class _StatisticsAsPlainAttributes(norms.BatchNorm):
    """Right values, but running_mean and running_var are plain attributes: not in state_dict(), and left in
    float32 by .double() (which the comparisons in float64 barely notice)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        del self.running_mean, self.running_var
        self.running_mean, self.running_var = torch.zeros(num_features), torch.ones(num_features)


class _StatisticsInTheGraph(_WrongBatchNorm):
    """Right values, but the running statistics are updated outside torch.no_grad(): they become part of the
    autograd graph, which the next evaluation step then tries to backpropagate through."""

    def forward(self, x):
        if self.training:
            axes = norms.reduction_axes(x.dim())
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * x.mean(dim=axes)
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * x.var(dim=axes)
        return self._normalize(x, (self.running_mean, self.running_var))


def _module_ignoring(name, **fixed):
    """The reference module ignoring the constructor's arguments in `fixed`, always using these values."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        norms.BatchNorm.__init__(self, num_features, **{"eps": eps, "momentum": momentum, **fixed})

    return type(name, (norms.BatchNorm,), {"__init__": __init__})


class _HandingOverToTorch(norms.BatchNorm):
    def forward(self, x):
        return torch.nn.functional.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps
        )


MODULE = {
    "update the running statistics in evaluation mode too (they must only change in training mode)": _module_variant(
        "UpdatesInEval", update_in_eval=True
    ),
    "reverse the momentum convention (PyTorch's momentum 0.1 weights the new batch: "
    "running = 0.9·running + 0.1·batch)": _module_variant("ReversedMomentum", reverse_momentum=True),
    "store the biased batch variance in running_var (PyTorch stores the unbiased one, × N/(N − 1))": _module_variant(
        "BiasedRunningVar", ddof_running=0
    ),
    "normalize with the unbiased variance (dividing by N − 1; PyTorch normalizes with the biased one)": _module_variant(
        "UnbiasedNormalization", ddof_normalize=1
    ),
    "normalize with the batch statistics in evaluation mode instead of the running ones": _module_variant(
        "BatchStatsInEval", batch_stats_in_eval=True
    ),
    "add eps outside the square root (σ + ε instead of √(σ² + ε))": _module_variant(
        "EpsOutsideRoot", eps_inside_root=False
    ),
    "keep gamma and beta as plain tensors instead of nn.Parameter (they get no gradient and are not trained)": _AffineWithoutGradients,
    "keep running_mean and running_var as plain tensor attributes instead of buffers registered with "
    "register_buffer (not saved in state_dict(), not moved by .to() or .double())": _StatisticsAsPlainAttributes,
    "update the running statistics outside torch.no_grad(), so that they become part of the autograd graph": (
        _StatisticsInTheGraph
    ),
    "ignore the momentum argument (always using 0.1)": _module_ignoring("MomentumIgnored", momentum=0.1),
    "ignore the eps argument (always using 1e-5)": _module_ignoring("EpsIgnored", eps=1e-5),
}

# Torch's and the answer key's ready-made versions of each exercise: a graded cell fails an answer that calls one.
# Nothing the answer key's own answer calls is among them (batch_norm calls batch_norm_forward, say), so that it
# passes the hidden tests as a student's answer (tests/test_norms.py).
_TORCH_BATCH_NORM = (
    "torch.nn.functional.batch_norm",
    "torch.batch_norm",
    "torch.native_batch_norm",
    "torch.nn.BatchNorm1d",
    "torch.nn.modules.BatchNorm1d",
    "torch.nn.modules.batchnorm.BatchNorm1d",
)
MUST_NOT_CALL = {
    "forward": (*_TORCH_BATCH_NORM, "reference_impl.norms.batch_norm_forward", "reference_impl.norms.batch_norm"),
    "backward": (
        *_TORCH_BATCH_NORM,
        "reference_impl.norms.batch_norm_backward",
        "reference_impl.norms.batch_norm_backward_staged",
    ),
    "running_stats": (*_TORCH_BATCH_NORM, "reference_impl.norms.batch_norm"),
    "module": (*_TORCH_BATCH_NORM, "reference_impl.norms.BatchNorm"),
    "gradient_scale": (),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"module": {"BatchNorm": _HandingOverToTorch}}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "forward": {"batch_norm_forward": FORWARD},
    "backward": {"batch_norm_backward": BACKWARD},
    "running_stats": {"batch_norm": RUNNING},
    "module": {"BatchNorm": MODULE},
}
