"""Weight initialization by variance propagation: Xavier/Glorot and He (Kaiming), as torch.nn.init does it.

A layer y = W x with fan_in inputs of variance v and weights of variance σ² gives outputs of variance
fan_in · σ² · v. Keeping it equal to v forward needs σ² = 1/fan_in, keeping gradients' variance
backward needs σ² = 1/fan_out; Glorot & Bengio (2010) compromise with σ² = 2/(fan_in + fan_out), and
He et al. (2015) account for ReLU halving the second moment with σ² = 2/fan_in. A `gain` multiplies
the standard deviation for other nonlinearities (torch.nn.init.calculate_gain). A uniform
distribution on [−a, a] has variance a²/3, so it uses the bound a = √3 · σ.
"""

import math

import numpy as np
import torch
from torch import nn


def fan_in_and_fan_out(shape):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel), as torch.nn.init computes them.

    Linear weights are (out_features, in_features); convolution weights (out_channels, in_channels,
    *kernel_size), whose every output sums over in_channels · kernel size inputs.
    """
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, got shape {tuple(shape)}")
    receptive_field = int(np.prod(shape[2:]))
    return shape[1] * receptive_field, shape[0] * receptive_field


def gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain: the std factor that makes up for what the nonlinearity does to variance."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def xavier_std(shape, gain=1.0):
    """Xavier/Glorot standard deviation: gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def he_std(shape, gain=math.sqrt(2.0), mode="fan_in"):
    """He/Kaiming standard deviation: gain / √fan, fan = fan_in (forward pass) or fan_out (backward pass)."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def uniform_bound(std):
    """The bound a of U(−a, a) with standard deviation `std`: a = √3 · std."""
    return math.sqrt(3.0) * std


def initialize(shape, std, distribution="normal", generator=None):
    """A float32 tensor of the given shape, mean 0 and standard deviation `std`.

    distribution="normal": N(0, std²); "uniform": U(−√3·std, √3·std). `generator` is an optional
    torch.Generator, for reproducible draws.
    """
    if distribution == "normal":
        return torch.randn(tuple(shape), generator=generator) * std
    if distribution == "uniform":
        bound = uniform_bound(std)
        return (torch.rand(tuple(shape), generator=generator) * 2 - 1) * bound
    raise ValueError(f"distribution must be 'normal' or 'uniform', got {distribution!r}")


def xavier_uniform(shape, gain=1.0, generator=None):
    """Same distribution as torch.nn.init.xavier_uniform_(w, gain)."""
    return initialize(shape, xavier_std(shape, gain), "uniform", generator)


def xavier_normal(shape, gain=1.0, generator=None):
    """Same distribution as torch.nn.init.xavier_normal_(w, gain)."""
    return initialize(shape, xavier_std(shape, gain), "normal", generator)


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Same distribution as torch.nn.init.kaiming_uniform_(w, a, mode, nonlinearity)."""
    return initialize(shape, he_std(shape, gain(nonlinearity, a), mode), "uniform", generator)


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Same distribution as torch.nn.init.kaiming_normal_(w, a, mode, nonlinearity)."""
    return initialize(shape, he_std(shape, gain(nonlinearity, a), mode), "normal", generator)


SCHEMES = ("xavier", "he", "default")


@torch.no_grad()
def init_weights_(model, scheme, seed=0):
    """Re-initialize every nn.Linear and nn.Conv*d of `model` in place; biases become zero.

    scheme: "xavier" (normal, gain 1), "he" (normal, fan_in, gain √2), or "default" (leave
    PyTorch's own init, U(±1/√fan_in) for weights, untouched). Returns the model.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if scheme == "default":
        return model
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            shape = tuple(module.weight.shape)
            std = xavier_std(shape) if scheme == "xavier" else he_std(shape)
            module.weight.copy_(initialize(shape, std, "normal", generator))
            if module.bias is not None:
                module.bias.zero_()
    return model
