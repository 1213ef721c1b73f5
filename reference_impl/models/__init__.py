"""Models used across the lessons."""
from .mlp import MLP
from .rnn import RNNRegressor, adding_problem
from .residual import DeepMLP, PlainBlock, ResidualBlock

__all__ = ["MLP", "DeepMLP", "PlainBlock", "ResidualBlock", "RNNRegressor", "adding_problem"]
