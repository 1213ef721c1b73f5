"""Models used across the lessons."""

from .mlp import MLP
from .residual import DeepMLP, PlainBlock, ResidualBlock
from .resnet import CifarResNet, ShortcutA, build_model, count_parameters, forward_multiply_adds
from .rnn import RNNRegressor, adding_problem

__all__ = [
    "MLP",
    "DeepMLP",
    "PlainBlock",
    "ResidualBlock",
    "RNNRegressor",
    "adding_problem",
    "CifarResNet",
    "ShortcutA",
    "build_model",
    "count_parameters",
    "forward_multiply_adds",
]
