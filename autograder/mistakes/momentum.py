"""Lesson 01 (momentum): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a rule with the
exercise's signature that makes exactly that mistake.
"""

import torch

from . import optimizer_ignoring

GD_STEP = {
    "add the gradient instead of subtracting it (p + lr·g)": lambda p, g, lr: p + lr * g,
    "forget the learning rate (p - g)": lambda p, g, lr: p - g,
}


def _ema(p, g, v, lr, beta, velocity_rule, use_old_velocity=False):
    new_v = velocity_rule(v, g, beta)
    return p - lr * (v if use_old_velocity else new_v), new_v


EMA_MOMENTUM = {
    "forget the (1 - β) factor (v = βv + g)": lambda p, g, v, lr, b: _ema(p, g, v, lr, b, lambda v, g, b: b * v + g),
    "swap β and 1 - β (v = (1 - β)v + βg)": lambda p, g, v, lr, b: _ema(
        p, g, v, lr, b, lambda v, g, b: (1 - b) * v + b * g
    ),
    "move the parameter with the old velocity instead of the updated one": lambda p, g, v, lr, b: _ema(
        p, g, v, lr, b, lambda v, g, b: b * v + (1 - b) * g, use_old_velocity=True
    ),
    "step along the gradient instead of the velocity": lambda p, g, v, lr, b: (p - lr * g, b * v + (1 - b) * g),
}


def _start(buf, g):
    return g if buf is None else buf


HEAVY_BALL = {
    "apply dampening on the first step too (PyTorch sets b = g on the first step)": lambda p, g, buf, lr, m, d=0.0: (
        _heavy_ball(p, lr, m * (0 if buf is None else buf) + (1 - d) * g)
    ),
    "ignore dampening (b = μb + g)": lambda p, g, buf, lr, m, d=0.0: _heavy_ball(
        p, lr, g if buf is None else m * buf + g
    ),
    "use the EMA form b = μb + (1 - μ)g instead of PyTorch's": lambda p, g, buf, lr, m, d=0.0: _heavy_ball(
        p, lr, g if buf is None else m * buf + (1 - m) * g
    ),
    "move the parameter with the old buffer instead of the updated one": lambda p, g, buf, lr, m, d=0.0: (
        p - lr * _start(buf, g),
        g if buf is None else m * buf + (1 - d) * g,
    ),
}


def _heavy_ball(p, lr, new_buf):
    return p - lr * new_buf, new_buf


NESTEROV = {
    "take a plain heavy-ball step (no look-ahead g + μb)": lambda p, g, buf, lr, m: _heavy_ball(
        p, lr, g if buf is None else m * buf + g
    ),
    "look ahead with the old buffer (g + μ·b_old) instead of the updated one": lambda p, g, buf, lr, m: (
        p - lr * (g + m * _start(buf, g)),
        g if buf is None else m * buf + g,
    ),
    "leave the current gradient out of the update (p - lr·μ·b)": lambda p, g, buf, lr, m: (
        p - lr * m * (g if buf is None else m * buf + g),
        g if buf is None else m * buf + g,
    ),
}

OPTIMIZER = {
    "ignore weight_decay": optimizer_ignoring(torch.optim.SGD, weight_decay=0.0),
    "ignore nesterov": optimizer_ignoring(torch.optim.SGD, nesterov=False),
    "ignore dampening": optimizer_ignoring(torch.optim.SGD, dampening=0.0),
    "ignore momentum": optimizer_ignoring(torch.optim.SGD, momentum=0.0),
}


# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "gd_step": {"gd_step": GD_STEP},
    "ema_momentum": {"ema_momentum_step": EMA_MOMENTUM},
    "heavy_ball": {"heavy_ball_step": HEAVY_BALL},
    "nesterov": {"nesterov_step": NESTEROV},
    "optimizer": {"MomentumSGD": OPTIMIZER},
}
