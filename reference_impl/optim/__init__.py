"""Optimizers as pure update rules plus thin torch.optim.Optimizer classes built on them, one file per algorithm.

A rule maps ``(param, grad, state, **hyperparameters) -> (new_param, new_state)`` and modifies nothing in
place; the same function updates NumPy arrays in the lessons and torch tensors inside an optimizer. Each file
also holds the vectorized (foreach) version of its rule where it has one; base.py holds the step loop and the
switch between the two.
"""

from .adam import Adam, AdamW, adam_step, adam_update, adamw_step, adamw_update, amsgrad_step
from .base import RuleOptimizer
from .rmsprop import RMSprop, rmsprop_step, rmsprop_update
from .sgd import SGD, ema_momentum_step, gd_step, heavy_ball_step, nesterov_step, sgd_update

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
    "amsgrad_step",
]
