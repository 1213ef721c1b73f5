"""Lesson 02 (adaptive optimizers): plausible wrong answers to each exercise, and what each must not call.

Each dict maps a description that completes "That is what you get if you ..." to a rule with the
exercise's signature that makes exactly that mistake.
"""

import numpy as np
import torch

from reference_impl.optim import adam as reference_adam

from . import answer_key_optimizer, breaking_the_step_contract, keeping_state_under, optimizer_ignoring


def _rmsprop(p, g, v, lr, alpha, eps, average=None, scale=None):
    average = average or (lambda v, g: alpha * v + (1 - alpha) * g * g)
    scale = scale or (lambda v: v**0.5 + eps)
    new_v = average(v, g)
    return p - lr * g / scale(new_v), new_v


RMSPROP = {
    "put eps inside the square root (√(v + ε) instead of √v + ε)": lambda p, g, v, lr, a, eps: _rmsprop(
        p, g, v, lr, a, eps, scale=lambda v: (v + eps) ** 0.5
    ),
    "forget the (1 - α) factor (v = αv + g²)": lambda p, g, v, lr, a, eps: _rmsprop(
        p, g, v, lr, a, eps, average=lambda v, g: a * v + g * g
    ),
    "swap α and 1 - α (v = (1 - α)v + αg²)": lambda p, g, v, lr, a, eps: _rmsprop(
        p, g, v, lr, a, eps, average=lambda v, g: (1 - a) * v + a * g * g
    ),
    "divide by v instead of √v": lambda p, g, v, lr, a, eps: _rmsprop(p, g, v, lr, a, eps, scale=lambda v: v + eps),
    "divide by the old average (update v after the step)": lambda p, g, v, lr, a, eps: (
        p - lr * g / (v**0.5 + eps),
        a * v + (1 - a) * g * g,
    ),
    "convert the inputs to NumPy arrays (np.asarray): on torch tensors the rule must return "
    "tensors": lambda p, g, v, lr, a, eps: _rmsprop(np.asarray(p), np.asarray(g), np.asarray(v), lr, a, eps),
}


def _adam(p, g, state, lr, b1, b2, eps, *, correct=True, next_step=None, denominator=None, one_minus=True):
    """Adam with one piece changed; the keyword arguments name the pieces."""
    t = state["step"] + 1
    m = b1 * state["exp_avg"] + ((1 - b1) if one_minus else 1) * g
    v = b2 * state["exp_avg_sq"] + ((1 - b2) if one_minus else 1) * g * g
    m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
    denominator = denominator or (lambda v_hat, v, t: v_hat**0.5 + eps)
    new_state = {"step": t if next_step is None else next_step(state["step"]), "exp_avg": m, "exp_avg_sq": v}
    return p - lr * m_hat / denominator(v_hat, v, t), new_state


ADAM = {
    "skip the bias correction (use m and v instead of m̂ = m/(1 - β₁ᵗ) and v̂ = v/(1 - β₂ᵗ))": lambda p, g, s, lr, b1, b2, eps: (
        _adam(p, g, s, lr, b1, b2, eps, correct=False)
    ),
    "forget to increment the step count t in the returned state": lambda p, g, s, lr, b1, b2, eps: _adam(
        p, g, s, lr, b1, b2, eps, next_step=lambda t: t
    ),
    "put eps inside the square root (√(v̂ + ε) instead of √v̂ + ε)": lambda p, g, s, lr, b1, b2, eps: _adam(
        p, g, s, lr, b1, b2, eps, denominator=lambda vh, v, t: (vh + eps) ** 0.5
    ),
    "forget the (1 - β) factors (m = β₁m + g, v = β₂v + g²)": lambda p, g, s, lr, b1, b2, eps: _adam(
        p, g, s, lr, b1, b2, eps, one_minus=False
    ),
    "add eps before the bias correction (√v + ε, then divide by √(1 - β₂ᵗ))": lambda p, g, s, lr, b1, b2, eps: _adam(
        p, g, s, lr, b1, b2, eps, denominator=lambda vh, v, t: (v**0.5 + eps) / (1 - b2**t) ** 0.5
    ),
}


def _adamw(adam_rule, decay):
    """An AdamW answer built from a (correct or wrong) Adam rule and a (correct or wrong) way to decay."""
    return lambda p, g, s, lr, b1, b2, eps, wd: adam_rule(*decay(p, g, lr, wd), s, lr, b1, b2, eps)


def _correct_adam(p, g, s, lr, b1, b2, eps):
    return _adam(p, g, s, lr, b1, b2, eps)


def _decoupled(p, g, lr, wd):
    return p * (1 - lr * wd), g


ADAMW = {
    "add the weight decay to the gradient (g + λp, which is Adam with L2, not AdamW)": _adamw(
        _correct_adam, lambda p, g, lr, wd: (p, g + wd * p)
    ),
    "decay by λ alone instead of by lr·λ (p(1 - λ) instead of p(1 - lr·λ))": _adamw(
        _correct_adam, lambda p, g, lr, wd: (p * (1 - wd), g)
    ),
    "forget the weight decay": _adamw(_correct_adam, lambda p, g, lr, wd: (p, g)),
    **{description: _adamw(wrong_adam, _decoupled) for description, wrong_adam in ADAM.items()},
}

OPTIMIZER = {
    "ignore weight_decay": optimizer_ignoring(torch.optim.AdamW, weight_decay=0.0),
    "ignore eps (use the default 1e-8)": optimizer_ignoring(torch.optim.AdamW, eps=1e-8),
    "ignore betas (use the default (0.9, 0.999))": optimizer_ignoring(torch.optim.AdamW, betas=(0.9, 0.999)),
    **breaking_the_step_contract(torch.optim.AdamW),
    "keep the moments under other names than torch's 'exp_avg' and 'exp_avg_sq' (torch.optim.AdamW cannot then "
    "go on from your state_dict)": keeping_state_under(torch.optim.AdamW, {"exp_avg": "m", "exp_avg_sq": "v"}),
}


# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "rmsprop_step": {"rmsprop_step": RMSPROP},
    "adam_step": {"adam_step": ADAM},
    "adamw_step": {"adamw_step": ADAMW},
    "optimizer": {"AdamW": OPTIMIZER},
}

# What each exercise's answer must not call: the ready-made versions of what it asks for, in the answer key and
# in torch. The hidden tests block them while the answer runs (checks' forbidden=); the integrity scan flags them.
_TORCH_ADAM = (
    "torch.optim.Adam",
    "torch.optim.adam.Adam",
    "torch.optim.AdamW",
    "torch.optim.adamw.AdamW",
    "torch.optim._functional.adam",
    "torch.optim._functional.adamw",
)

_ADAM_RULES = answer_key_optimizer("adam", "adam_step", "adam_update")
_ADAMW_RULES = answer_key_optimizer("adam", "adamw_step", "adamw_update")
MUST_NOT_CALL = {
    "rmsprop_step": (
        *answer_key_optimizer("rmsprop", "rmsprop_step", "rmsprop_update"),
        "torch.optim.RMSprop",
        "torch.optim.rmsprop.RMSprop",
        "torch.optim._functional.rmsprop",
    ),
    "adam_step": (*_ADAM_RULES, *_ADAMW_RULES, *_TORCH_ADAM),
    "first_step": (*_ADAM_RULES, *_TORCH_ADAM),
    "adamw_step": (*_ADAM_RULES, *_ADAMW_RULES, *_TORCH_ADAM),
    "optimizer": (
        *answer_key_optimizer("adam", "Adam", "AdamW"),
        "reference_impl.optim.adam.foreach_adam_",
        "reference_impl.optim.adam.foreach_adamw_",
        *_ADAM_RULES,
        *_ADAMW_RULES,
        *_TORCH_ADAM,
    ),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"adam_step": {"adam_step": lambda *args: reference_adam.adam_step(*args)}}
