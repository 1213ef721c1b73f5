"""Training loops: `train_classifier` for the lessons' small models, `train_cifar` for the capstones' ResNets.

``python -m reference_impl.train --help`` runs the capstones' training from the command line.
"""
from .augment import normalize, random_crop_flip
from .cifar import CifarTrainer, TrainConfig, TrainingDiverged, train_cifar
from .classifier import smooth, train_classifier
from .recipes import RECIPES, Recipe, paper_schedule

__all__ = ["train_classifier", "smooth", "train_cifar", "CifarTrainer", "TrainConfig", "TrainingDiverged",
           "RECIPES", "Recipe", "paper_schedule", "random_crop_flip", "normalize"]
