"""Models used across the lessons."""
from .mlp import MLP

__all__ = ["MLP"]
