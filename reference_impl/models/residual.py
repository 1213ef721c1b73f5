"""Residual blocks and deep MLPs with and without skip connections (lesson 07, and the capstones' ideas in 1-D)."""

import math

from torch import nn


class ResidualBlock(nn.Module):
    """``activation(x + branch_scale · linear2(activation(linear1(x))))``: a ResNet basic block without BN, for vectors.

    Both linear layers map `width` to `width`. The identity path carries x (and, backward, its
    gradient) past the branch unchanged; `branch_scale` < 1 shrinks what each block adds, so the
    variance of a deep stack stays bounded (1/√blocks keeps it within a constant factor).
    """

    def __init__(self, width, activation=nn.ReLU, branch_scale=1.0):
        super().__init__()
        self.linear1 = nn.Linear(width, width)
        self.linear2 = nn.Linear(width, width)
        self.activation = activation()
        self.branch_scale = branch_scale

    def forward(self, x):
        return self.activation(x + self.branch_scale * self.linear2(self.activation(self.linear1(x))))


class PlainBlock(nn.Module):
    """`ResidualBlock` without its skip connection: ``activation(linear2(activation(linear1(x))))``."""

    def __init__(self, width, activation=nn.ReLU):
        super().__init__()
        self.linear1 = nn.Linear(width, width)
        self.linear2 = nn.Linear(width, width)
        self.activation = activation()

    def forward(self, x):
        return self.activation(self.linear2(self.activation(self.linear1(x))))


class DeepMLP(nn.Sequential):
    """A deep MLP: Linear(in_features, width) + activation, `depth` // 2 blocks of two layers, Linear(width, classes).

    `residual` picks `ResidualBlock` (branch scale 1/√blocks) or `PlainBlock`: the same layers and
    parameter count, differing only by the skip connections. `depth` counts the hidden width × width
    layers and must be even.
    """

    def __init__(self, depth, width=64, residual=False, in_features=40, classes=10, activation=nn.ReLU):
        if depth < 2 or depth % 2:
            raise ValueError(f"depth must be an even number of at least 2, got {depth}")
        blocks = depth // 2
        make_block = (
            (lambda: ResidualBlock(width, activation, branch_scale=1 / math.sqrt(blocks)))
            if residual
            else (lambda: PlainBlock(width, activation))
        )
        super().__init__(
            nn.Linear(in_features, width),
            activation(),
            *(make_block() for _ in range(blocks)),
            nn.Linear(width, classes),
        )
