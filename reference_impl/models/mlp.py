"""A multilayer perceptron for MNIST-1D-sized inputs."""

from torch import nn


class MLP(nn.Sequential):
    """Linear layers of the given widths with an activation between them (none after the last)."""

    def __init__(self, widths=(40, 100, 100, 10), activation=nn.ReLU):
        if len(widths) < 2:
            raise ValueError(f"an MLP needs at least an input and an output width, got {widths}")
        layers = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), activation()]
        super().__init__(*layers[:-1])
