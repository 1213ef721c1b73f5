"""Lesson 00's experiment: a deep plain MLP whose per-layer gradient norms show vanishing and exploding gradients."""

import numpy as np
import torch
from torch import nn

from reference_impl.models import MLP


def deep_mlp(depth, activation, init_scale, width=64, inputs=64, classes=10, seed=0):
    """A plain MLP with `depth` hidden layers whose weights are N(0, init_scale² / fan_in), biases zero.

    `activation` is "sigmoid", "tanh" or "ReLU". init_scale 1 is LeCun initialization; √2 with ReLU is
    He initialization, the scale at which ReLU layers neither shrink nor grow the signal on average.
    """
    activations = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "ReLU": nn.ReLU}
    model = MLP((inputs, *([width] * depth), classes), activation=activations[activation])
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight.normal_(0.0, init_scale / np.sqrt(layer.in_features), generator=generator)
                layer.bias.zero_()
    return model
