"""Optimizers as pure update rules plus thin torch.optim.Optimizer classes built on them.

A rule maps ``(param, grad, state, **hyperparameters) -> (new_param, new_state)``. Rules use only
arithmetic on their inputs, so the same function updates NumPy arrays in the lessons and torch
tensors inside an optimizer, and nothing is modified in place.
"""
from .base import RuleOptimizer
from .sgd import SGD, ema_momentum_step, gd_step, heavy_ball_step, nesterov_step, sgd_update
from .rmsprop import RMSprop, rmsprop_step, rmsprop_update
from .adam import Adam, AdamW, adam_step, adam_update, adamw_step, adamw_update

__all__ = [
    "RuleOptimizer",
    "SGD",
    "ema_momentum_step",
    "gd_step",
    "heavy_ball_step",
    "nesterov_step",
    "sgd_update",
    "RMSprop",
    "rmsprop_step",
    "rmsprop_update",
    "Adam",
    "AdamW",
    "adam_step",
    "adam_update",
    "adamw_step",
    "adamw_update",
]
