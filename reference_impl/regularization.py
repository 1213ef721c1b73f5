"""Stochastic regularization: inverted dropout and DropConnect, as NumPy functions and torch modules.

Inverted dropout (as torch.nn.Dropout) zeroes each value with probability p while training and
scales the survivors by 1/(1 − p), so every value keeps its expectation and evaluation is the
identity: nothing needs rescaling at test time. DropConnect (Wan et al., 2013) drops weights of a
linear layer instead of its outputs, with the same inverted scaling; one weight mask is drawn per
forward call (shared by the minibatch), the common practical simplification of the paper's
per-example masks, and evaluation uses the weights as they are (not the paper's Gaussian
moment-matching inference).
"""

import numpy as np
import torch
from torch import nn


def _check_probability(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")


def keep_mask(shape, p, rng):
    """Boolean mask of the values kept: ``rng.random(shape) >= p`` (each dropped with probability p)."""
    return rng.random(shape) >= p


def dropout(x, p, training, rng):
    """Inverted dropout of the array `x`: torch.nn.functional.dropout's behaviour, as a pure function.

    Training: each value is zeroed with probability `p`, independently, by ``keep_mask(x.shape, p, rng)``,
    and the kept ones are multiplied by 1/(1 − p); p = 1 gives zeros. Evaluation (training=False)
    returns `x` unchanged. `rng` is a numpy.random.Generator.
    """
    _check_probability(p)
    x = np.asarray(x)
    if not training or p == 0:
        return x
    if p == 1:
        return np.zeros_like(x, dtype=float)
    return np.where(keep_mask(x.shape, p, rng), x / (1 - p), 0.0)


def drop_connect_linear(x, weight, bias, p, training, rng):
    """A linear layer ``x @ W.T + bias`` with DropConnect on its weights (W shaped (out, in) as in nn.Linear).

    Training: one mask ``keep_mask(weight.shape, p, rng)`` drops each weight with probability `p` and
    the kept weights are scaled by 1/(1 − p), so the expected output is the plain layer's. The bias
    is never dropped. Evaluation: the plain linear layer.
    """
    _check_probability(p)
    return np.asarray(x) @ dropout(weight, p, training, rng).T + bias


class Dropout(nn.Module):
    """Inverted dropout like torch.nn.Dropout(p), written out: mask, scale by 1/(1 − p), identity in eval."""

    def __init__(self, p=0.5):
        super().__init__()
        _check_probability(p)
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return torch.zeros_like(x)
        return x * (torch.rand_like(x) >= self.p) / (1 - self.p)

    def extra_repr(self):
        return f"p={self.p}"


class MaskDropout(nn.Module):
    """Dropout whose training-mode mask comes from a NumPy function with `dropout`'s signature.

    The mask is ``dropout_fn(ones, p, True, rng)`` (zeros and 1/(1 − p) for a correct function), multiplied
    into the activations, so a student's NumPy `dropout` can regularize a torch model trained by
    autograd. `seed` seeds the NumPy generator, so runs are reproducible.
    """

    def __init__(self, dropout_fn, p, seed=0):
        super().__init__()
        _check_probability(p)
        self.dropout_fn, self.p = dropout_fn, p
        self.rng = np.random.default_rng(seed)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        mask = self.dropout_fn(np.ones(tuple(x.shape)), self.p, True, self.rng)
        return x * torch.as_tensor(np.asarray(mask), dtype=x.dtype)

    def extra_repr(self):
        return f"p={self.p}"


class DropConnectLinear(nn.Linear):
    """nn.Linear with DropConnect: while training, each weight is dropped with probability p (inverted scaling)."""

    def __init__(self, in_features, out_features, p=0.5, bias=True):
        super().__init__(in_features, out_features, bias=bias)
        _check_probability(p)
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return super().forward(x)
        if self.p == 1:
            return nn.functional.linear(x, torch.zeros_like(self.weight), self.bias)
        weight = self.weight * (torch.rand_like(self.weight) >= self.p) / (1 - self.p)
        return nn.functional.linear(x, weight, self.bias)

    def extra_repr(self):
        return f"{super().extra_repr()}, p={self.p}"
