"""Lesson 01 (momentum): plausible wrong answers to each exercise, and what each exercise must not call.

Each dict maps a description that completes "That is what you get if you ..." to a rule with the
exercise's signature that makes exactly that mistake. The wrong optimizers of the torch.optim.Optimizer exercise
are built by the package's builders (autograder/mistakes/__init__.py) from torch's own class.
"""

import numpy as np
import torch

from . import answer_key_optimizer, breaking_the_step_contract, keeping_state_under, optimizer_ignoring

GD_STEP = {
    "add the gradient instead of subtracting it (p + lr·g)": lambda p, g, lr: p + lr * g,
    "forget the learning rate (p - g)": lambda p, g, lr: p - g,
    "convert the inputs to NumPy arrays (np.asarray): on torch tensors the rule must return a "
    "tensor": lambda p, g, lr: np.asarray(p) - lr * np.asarray(g),
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


class _FirstBufferIsTheGradient(torch.optim.SGD):
    """torch.optim.SGD keeping p.grad itself as a parameter's first momentum buffer, where torch keeps a copy."""

    def step(self, closure=None):
        starting = [
            (group, p)
            for group in self.param_groups
            for p in group["params"]
            if self.state[p].get("momentum_buffer") is None
        ]
        loss = super().step(closure)
        for group, p in starting:
            # Without weight decay the first buffer equals the gradient: the mistake stores the tensor itself.
            if group["weight_decay"] == 0 and self.state[p].get("momentum_buffer") is not None:
                self.state[p]["momentum_buffer"] = p.grad
        return loss


class _AcceptingNesterovWithoutMomentum(torch.optim.SGD):
    """torch.optim.SGD without its check that Nesterov momentum has momentum > 0 and no dampening."""

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        for group in self.param_groups:
            group["nesterov"] = nesterov


# First the mistake of an optimizer that handles Nesterov but not its invalid settings: the self-check's ValueError
# hint names the first mistake that accepts them, and one that ignores nesterov altogether fails earlier.
OPTIMIZER = {
    "accept nesterov=True with momentum 0 or with dampening (torch.optim.SGD raises ValueError: Nesterov needs "
    "momentum and no dampening)": _AcceptingNesterovWithoutMomentum,
    "ignore weight_decay": optimizer_ignoring(torch.optim.SGD, weight_decay=0.0),
    "ignore nesterov": optimizer_ignoring(torch.optim.SGD, nesterov=False),
    "ignore dampening": optimizer_ignoring(torch.optim.SGD, dampening=0.0),
    "ignore momentum": optimizer_ignoring(torch.optim.SGD, momentum=0.0),
    **breaking_the_step_contract(torch.optim.SGD),
    "keep p.grad itself as the first momentum buffer (torch stores a copy: when backward then adds into .grad in "
    "place, your buffer changes with it)": _FirstBufferIsTheGradient,
    "keep the momentum buffer under another name than torch's 'momentum_buffer' (torch.optim.SGD cannot then go "
    "on from your state_dict)": keeping_state_under(torch.optim.SGD, {"momentum_buffer": "buffer"}),
}

TERMINAL_SPEEDUP = {
    "leave the current gradient out of the settled buffer (μ/(1 - μ))": lambda momentum: momentum / (1 - momentum),
    "divide by 1 + μ instead of 1 - μ": lambda momentum: 1 / (1 + momentum),
    "square the factor (1/(1 - μ)²)": lambda momentum: 1 / (1 - momentum) ** 2,
}


# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "gd_step": {"gd_step": GD_STEP},
    "ema_momentum": {"ema_momentum_step": EMA_MOMENTUM},
    "heavy_ball": {"heavy_ball_step": HEAVY_BALL},
    "nesterov": {"nesterov_step": NESTEROV},
    "optimizer": {"MomentumSGD": OPTIMIZER},
    "terminal_speedup": {"terminal_speedup": TERMINAL_SPEEDUP},
}

# Mistakes only the hidden tests catch, and why the visible self-check leaves them to them.
HIDDEN_ONLY = {
    "terminal_speedup": {
        "square the factor (1/(1 - μ)²)": "a visible check of the value at μ > 0 would print the answer the "
        "exercise asks you to derive",
    },
}

# What each exercise's answer must not call: the ready-made versions of what it asks for, in the answer key and
# in torch. The hidden tests block them while the answer runs (checks' forbidden=); the integrity scan flags them.
_TORCH_SGD = ("torch.optim.SGD", "torch.optim.sgd.SGD", "torch.optim._functional.sgd")
_SGD_RULE = answer_key_optimizer("sgd", "sgd_update")
MUST_NOT_CALL = {
    "gd_step": (*answer_key_optimizer("sgd", "gd_step"), *_SGD_RULE, *_TORCH_SGD),
    "ema_momentum": (*answer_key_optimizer("sgd", "ema_momentum_step"), *_SGD_RULE, *_TORCH_SGD),
    "heavy_ball": (*answer_key_optimizer("sgd", "heavy_ball_step"), *_SGD_RULE, *_TORCH_SGD),
    "nesterov": (*answer_key_optimizer("sgd", "nesterov_step"), *_SGD_RULE, *_TORCH_SGD),
    "optimizer": (*answer_key_optimizer("sgd", "SGD"), *_SGD_RULE, *_TORCH_SGD),
    "terminal_speedup": (),
}


def _sgd_from_torch(params, **hyper):
    return torch.optim.SGD(params, **hyper)


# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"optimizer": {"MomentumSGD": _sgd_from_torch}}
