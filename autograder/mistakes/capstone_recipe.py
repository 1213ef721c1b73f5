"""Lesson 09 (capstone: training recipe): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a wrong answer with the
exercise's signature.
"""

import math

import torch

from . import clipping


def _sgd(parameters, config, **changes):
    hyper = {key: config[key] for key in ("lr", "momentum", "weight_decay", "nesterov") if key in config}
    return torch.optim.SGD(parameters, **{**hyper, **changes})


def _adam(parameters, config, optimizer_class=torch.optim.AdamW, **changes):
    hyper = {key: config[key] for key in ("lr", "betas", "eps", "weight_decay") if key in config}
    return optimizer_class(parameters, **{**hyper, **changes})


def _wrong(sgd=_sgd, adamw=_adam):
    return lambda parameters, config: (sgd if config["name"] == "sgd" else adamw)(parameters, config)


MAKE_OPTIMIZER = {
    "ignore weight_decay": _wrong(
        sgd=lambda p, c: _sgd(p, c, weight_decay=0.0), adamw=lambda p, c: _adam(p, c, weight_decay=0.0)
    ),
    "ignore nesterov": _wrong(sgd=lambda p, c: _sgd(p, c, nesterov=False)),
    "use Adam with L2 weight decay (torch.optim.Adam) instead of AdamW's decoupled decay": _wrong(
        adamw=lambda p, c: _adam(p, c, optimizer_class=torch.optim.Adam)
    ),
}


def _lr(step, peak_lr, total_steps, warmup_steps, *, warmup_from_zero=False, cosine_over_all=False, linear=False):
    if step < warmup_steps:
        return peak_lr * (step if warmup_from_zero else step + 1) / warmup_steps
    start, length = (0, total_steps) if cosine_over_all else (warmup_steps, total_steps - warmup_steps)
    fraction = (step - start) / length
    return peak_lr * (1 - fraction) if linear else peak_lr * (1 + math.cos(math.pi * fraction)) / 2


LR_AT = {
    "start the warm-up at 0 (peak_lr·step/warmup_steps) instead of peak_lr/warmup_steps": lambda step, **kw: _lr(
        step, **kw, warmup_from_zero=True
    ),
    "run the cosine over all total_steps instead of the steps after the warm-up": lambda step, **kw: _lr(
        step, **kw, cosine_over_all=True
    ),
    "decay linearly instead of along a cosine": lambda step, **kw: _lr(step, **kw, linear=True),
}

CLIP_GRAD_NORM = {
    description: wrong for description, wrong in clipping.CLIP_GRAD_NORM.items() if "norm_type" not in description
}


def _time(history, target, key="val_accuracy", cumulative=True):
    total = 0.0
    for row in history:
        total = total + row["seconds"] if cumulative else row["seconds"]
        if row[key] >= target:
            return total
    return None


TIME_TO_ACCURACY = {
    "use the test accuracy instead of the validation accuracy": lambda history, target: _time(
        history, target, key="test_accuracy"
    ),
    "return the reaching epoch's own time instead of the total time up to it": lambda history, target: _time(
        history, target, cumulative=False
    ),
    "use the training accuracy instead of the validation accuracy": lambda history, target: _time(
        history, target, key="train_accuracy"
    ),
}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "make_optimizer": {"make_optimizer": MAKE_OPTIMIZER},
    "lr_at": {"lr_at": LR_AT},
    "clip_grad_norm": {"clip_grad_norm": CLIP_GRAD_NORM},
    "time_to_accuracy": {"time_to_accuracy": TIME_TO_ACCURACY},
}
