"""The small training runs that the lessons and their views draw, apart from the drawing."""
from .classifier import smooth, train_classifier
from .gradient_flow import deep_mlp

__all__ = ["deep_mlp", "smooth", "train_classifier"]
