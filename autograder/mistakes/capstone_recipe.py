"""Lesson 09 (capstone: training recipe): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a wrong answer with the
exercise's signature.
"""

import math

import torch

from reference_impl import clipping as answer_key_clipping

from . import adaptive, clipping, dropping_the_loss, ignoring_the_closure, momentum, reading_hyperparameters_once


def _sgd(parameters, config, optimizer_class=torch.optim.SGD, **changes):
    hyper = {key: config[key] for key in ("lr", "momentum", "weight_decay", "nesterov") if key in config}
    return optimizer_class(parameters, **{**hyper, **changes})


def _adam(parameters, config, optimizer_class=torch.optim.AdamW, **changes):
    hyper = {key: config[key] for key in ("lr", "betas", "eps", "weight_decay") if key in config}
    return optimizer_class(parameters, **{**hyper, **changes})


def _wrong(sgd=_sgd, adamw=_adam):
    return lambda parameters, config: (sgd if config["name"] == "sgd" else adamw)(parameters, config)


def _breaking(builder):
    """The right optimizer, of the class builder(torch's class) makes: one part of torch's contract broken."""
    return _wrong(
        sgd=lambda p, c: _sgd(p, c, optimizer_class=builder(torch.optim.SGD)),
        adamw=lambda p, c: _adam(p, c, optimizer_class=builder(torch.optim.AdamW)),
    )


MAKE_OPTIMIZER = {
    "build torch.optim.SGD and torch.optim.AdamW instead of your own MomentumSGD and AdamW": _wrong(),
    "ignore weight_decay": _wrong(
        sgd=lambda p, c: _sgd(p, c, weight_decay=0.0), adamw=lambda p, c: _adam(p, c, weight_decay=0.0)
    ),
    "ignore nesterov": _wrong(sgd=lambda p, c: _sgd(p, c, nesterov=False)),
    "always use Nesterov momentum (nesterov=True), whatever config['nesterov'] says": _wrong(
        sgd=lambda p, c: _sgd(p, c, nesterov=True)
    ),
    "ignore betas (leaving AdamW's default (0.9, 0.999))": _wrong(
        adamw=lambda p, c: _adam(p, {key: value for key, value in c.items() if key != "betas"})
    ),
    "use Adam with L2 weight decay (torch.optim.Adam) instead of AdamW's decoupled decay": _wrong(
        adamw=lambda p, c: _adam(p, c, optimizer_class=torch.optim.Adam)
    ),
    "ignore eps (leaving AdamW's default 1e-8)": _wrong(
        adamw=lambda p, c: _adam(p, {key: value for key, value in c.items() if key != "eps"})
    ),
    "read lr and momentum once, when the optimizer is built, instead of from param_groups at every step (a "
    "schedule's changes are then ignored)": _breaking(reading_hyperparameters_once),
    "ignore the closure in step(closure) (torch's step calls it and returns its loss)": _breaking(ignoring_the_closure),
    "call the closure in step(closure) without returning its loss": _breaking(dropping_the_loss),
}


# Lessons 01 and 02's mistakes of the optimizer classes, less those only their fuller checks catch (invalid Nesterov
# settings, torch going on from a state_dict, gradients added into .grad in place, views of the parameters): those
# parts of the contract are graded there; here the classes are checked in the capstone's conditions.
_GRADED_IN_LESSONS_01_AND_02 = (
    "nesterov=True with momentum 0",
    "p.grad itself",
    "another name",
    "other names",
    "new memory",
)


def _capstone_part(catalogue):
    return {
        description: wrong
        for description, wrong in catalogue.items()
        if not any(part in description for part in _GRADED_IN_LESSONS_01_AND_02)
    }


MOMENTUM_SGD = _capstone_part(momentum.OPTIMIZER)
ADAMW = _capstone_part(adaptive.OPTIMIZER)


def _lesson_04_ramp(step, warmup_steps, start_factor):
    return start_factor + (1 - start_factor) * step / warmup_steps


def _lr(
    step,
    peak_lr,
    total_steps,
    warmup_steps,
    start_factor=1 / 3,
    *,
    ramp=_lesson_04_ramp,
    cosine_over_all=False,
    linear=False,
):
    """Warm-up then cosine as lr_at, with one part done wrong: `ramp(step, warmup_steps, start_factor)` as the
    warm-up's factor of peak_lr in place of lesson 04's, the cosine over all the steps, or a linear decay."""
    if step < warmup_steps:
        return peak_lr * ramp(step, warmup_steps, start_factor)
    start, length = (0, total_steps) if cosine_over_all else (warmup_steps, total_steps - warmup_steps)
    fraction = (step - start) / length
    return peak_lr * (1 - fraction) if linear else peak_lr * (1 + math.cos(math.pi * fraction)) / 2


LR_AT = {
    "ramp peak_lr·(step + 1)/warmup_steps, the other warm-up convention, which peaks one step early: lesson 04's "
    "(torch's LinearLR) starts at start_factor·peak_lr and reaches peak_lr at step warmup_steps": lambda step, **kw: (
        _lr(step, **kw, ramp=lambda s, w, f: (s + 1) / w)
    ),
    "start the warm-up at 0 (peak_lr·step/warmup_steps) instead of at start_factor·peak_lr": lambda step, **kw: _lr(
        step, **kw, ramp=lambda s, w, f: s / w
    ),
    "ignore start_factor (always start the warm-up at peak_lr/3)": lambda step, **kw: _lr(
        step, **kw, ramp=lambda s, w, f: _lesson_04_ramp(s, w, 1 / 3)
    ),
    "run the cosine over all total_steps instead of the steps after the warm-up": lambda step, **kw: _lr(
        step, **kw, cosine_over_all=True
    ),
    "decay linearly instead of along a cosine": lambda step, **kw: _lr(step, **kw, linear=True),
}

# Lesson 05's wrong answers, less those about the arguments this exercise's signature leaves out.
CLIP_GRAD_NORM = {
    description: wrong
    for description, wrong in clipping.CLIP_GRAD_NORM.items()
    if not any(argument in description for argument in ("norm_type", "error_if_nonfinite", "RuntimeError"))
}


def _time(history, target, key="val_accuracy", cumulative=True, reached=lambda value, target: value >= target):
    total = 0.0
    for row in history:
        total = total + row["seconds"] if cumulative else row["seconds"]
        if reached(row[key], target):
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
    "count an epoch only when its validation accuracy is above the target (> instead of >=)": lambda history, target: (
        _time(history, target, reached=lambda value, target: value > target)
    ),
}

# What each exercise's answer must not call, checked while it runs (checks' `forbidden=`) and in its text
# (autograder/grading/integrity.py): torch's and the answer key's ready-made versions of what it asks for.
MUST_NOT_CALL = {
    "make_optimizer": (*momentum.MUST_NOT_CALL["optimizer"], *adaptive.MUST_NOT_CALL["optimizer"]),
    "lr_at": (
        "torch.optim.lr_scheduler.LinearLR",
        "torch.optim.lr_scheduler.CosineAnnealingLR",
        "torch.optim.lr_scheduler.SequentialLR",
        "torch.optim.lr_scheduler.ChainedScheduler",
        "reference_impl.schedules.cosine_annealing_lr",
        "reference_impl.schedules.anneal",
        "reference_impl.schedules.with_warmup",
        "reference_impl.schedules.join",
    ),
    "clip_grad_norm": clipping.MUST_NOT_CALL["clip_grad_norm"],
    "time_to_accuracy": (),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {
    "clip_grad_norm": {
        "clip_grad_norm": lambda parameters, max_norm: answer_key_clipping.clip_grad_norm(parameters, max_norm)
    }
}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "make_optimizer": {"MomentumSGD": MOMENTUM_SGD, "AdamW": ADAMW, "make_optimizer": MAKE_OPTIMIZER},
    "lr_at": {"lr_at": LR_AT},
    "clip_grad_norm": {"clip_grad_norm": CLIP_GRAD_NORM},
    "time_to_accuracy": {"time_to_accuracy": TIME_TO_ACCURACY},
}
