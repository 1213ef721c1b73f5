"""Lesson 04 (learning-rate schedules): plausible wrong answers to each exercise, and what each exercise must not
call.

Each dict maps a description that completes "That is what you get if you ..." to a function with the
exercise's signature that makes exactly that mistake.

The graded cells block the names in MUST_NOT_CALL while an answer runs as the student's, and test_lesson_mistakes
runs these wrong answers as the student's: so they reach the answer key's schedules through names bound here at
import, which the block does not replace. Only the answer in HANDED_OVER calls a blocked name.
"""

import bisect
import math

import numpy as np
import torch

from reference_impl import schedules
from reference_impl.schedules import cosine_annealing_lr as _cosine_annealing_lr
from reference_impl.schedules import cosine_warm_restarts_lr as _cosine_warm_restarts_lr
from reference_impl.schedules import exponential_lr as _exponential_lr
from reference_impl.schedules import multistep_lr as _multistep_lr
from reference_impl.schedules import one_cycle as _one_cycle
from reference_impl.schedules import step_lr as _step_lr
from reference_impl.schedules import with_warmup as _with_warmup

# A schedule is a pure function of the step. This mistake, shared by every schedule, keeps state instead. It comes
# first in each catalogue: asked for each step once it gives the right values, so it names no other answer, while
# asked twice it may coincide with a pure wrong one (a full cosine period gives at step s what it gives then).
_STATEFUL = (
    "keep state between calls (a step counter, as scheduler.step() keeps) instead of computing the lr from `step` "
    "alone, so that asking twice for the same step moves the schedule on"
)


def _counting_calls(schedule):
    """`schedule` at a count of its own calls, restarted at step 0: right when each step is asked for once, in
    order, and wrong as soon as a step is asked for twice."""
    calls = {"count": 0}

    def stateful(step, *args, **kwargs):
        calls["count"] = 0 if step == 0 else calls["count"] + 1
        return schedule(calls["count"], *args, **kwargs)

    return stateful


STEP_LR = {
    _STATEFUL: _counting_calls(_step_lr),
    "count epochs from 1, decaying one step early (gamma^((step + 1) // step_size))": lambda step, base_lr, step_size, gamma=0.1: (
        base_lr * gamma ** ((step + 1) // step_size)
    ),
    "decay smoothly (gamma^(step / step_size)) instead of in a staircase": lambda step, base_lr, step_size, gamma=0.1: (
        base_lr * gamma ** (step / step_size)
    ),
    "decay once only, at step_size, instead of every step_size steps": lambda step, base_lr, step_size, gamma=0.1: (
        base_lr * (gamma if step >= step_size else 1)
    ),
}

MULTISTEP_LR = {
    _STATEFUL: _counting_calls(_multistep_lr),
    "decay one step late (counting milestones < step instead of <= step)": lambda step, base_lr, milestones, gamma=0.1: (
        base_lr * gamma ** bisect.bisect_left(sorted(milestones), step)
    ),
    "decay one step early (counting milestones <= step + 1)": lambda step, base_lr, milestones, gamma=0.1: (
        base_lr * gamma ** bisect.bisect_right(sorted(milestones), step + 1)
    ),
    "decay once at the first milestone only": lambda step, base_lr, milestones, gamma=0.1: (
        base_lr * (gamma if step >= min(milestones) else 1)
    ),
}

EXPONENTIAL_LR = {
    _STATEFUL: _counting_calls(_exponential_lr),
    "count steps from 1 (gamma^(step + 1))": lambda step, base_lr, gamma: base_lr * gamma ** (step + 1),
    "use e^(-gamma·step) instead of gamma^step": lambda step, base_lr, gamma: base_lr * math.exp(-gamma * step),
}


def _cosine(step, base_lr, T_max, eta_min, period):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / period)) / 2


def _cosine_by_torch(step, base_lr, T_max, eta_min=0.0):
    """The lr torch's CosineAnnealingLR reaches after `step` steps of a throwaway optimizer."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]


COSINE = {
    _STATEFUL: _counting_calls(_cosine_annealing_lr),
    "anneal over T_max + 1 steps instead of T_max (off by one)": lambda step, base_lr, T_max, eta_min=0.0: _cosine(
        step, base_lr, T_max, eta_min, T_max + 1
    ),
    "forget eta_min (anneal to 0)": lambda step, base_lr, T_max, eta_min=0.0: _cosine(step, base_lr, T_max, 0.0, T_max),
    "use a full cosine period over T_max (cos(2π·step/T_max))": lambda step, base_lr, T_max, eta_min=0.0: _cosine(
        2 * step, base_lr, T_max, eta_min, T_max
    ),
    "stop at eta_min after T_max instead of following the cosine back up as torch does": lambda step, base_lr, T_max, eta_min=0.0: (
        _cosine(min(step, T_max), base_lr, T_max, eta_min, T_max)
    ),
}


def _restarts(step, base_lr, eta_min, position):
    since_restart, cycle_length = position(step)
    return _cosine_annealing_lr(since_restart, base_lr, cycle_length, eta_min)


def _cycle_position(step, T_0, T_mult, restart_late=False):
    """(steps since the last restart, the cycle's length); late: restarting after the cycle's last step, not at it."""
    cycle_length = T_0
    while step > cycle_length or (step == cycle_length and not restart_late):
        step -= cycle_length
        cycle_length *= T_mult
    return step, cycle_length


WARM_RESTARTS = {
    _STATEFUL: _counting_calls(_cosine_warm_restarts_lr),
    "ignore T_mult (every cycle T_0 steps long)": lambda step, base_lr, T_0, T_mult=1, eta_min=0.0: _restarts(
        step, base_lr, eta_min, lambda s: (s % T_0, T_0)
    ),
    "restart one step late (reaching eta_min before restarting)": lambda step, base_lr, T_0, T_mult=1, eta_min=0.0: (
        _restarts(step, base_lr, eta_min, lambda s: _cycle_position(s, T_0, T_mult, restart_late=True))
    ),
    "forget eta_min (anneal to 0)": lambda step, base_lr, T_0, T_mult=1, eta_min=0.0: _restarts(
        step, base_lr, 0.0, lambda s: _cycle_position(s, T_0, T_mult)
    ),
}


def _one_cycle_with(**overrides):
    """one_cycle with some settings forced, whatever the caller passes."""

    def wrong(step, max_lr, total_steps, **settings):
        return _one_cycle(step, max_lr, total_steps, **{**settings, **overrides})

    return wrong


def _one_cycle_momentum_with_lr(step, max_lr, total_steps, base_momentum=0.85, max_momentum=0.95, **settings):
    lr, momentum = _one_cycle(
        step, max_lr, total_steps, base_momentum=base_momentum, max_momentum=max_momentum, **settings
    )
    return lr, base_momentum + max_momentum - momentum  # high when the lr is high


def _one_cycle_phase_ends_without_minus_one(
    step,
    max_lr,
    total_steps,
    pct_start=0.3,
    anneal_strategy="cos",
    div_factor=25.0,
    final_div_factor=1e4,
    three_phase=False,
    base_momentum=0.85,
    max_momentum=0.95,
):
    initial_lr = max_lr / div_factor
    ends = (
        [pct_start * total_steps, 2 * pct_start * total_steps, total_steps]
        if three_phase
        else [pct_start * total_steps, total_steps]
    )
    lr_points = (
        [initial_lr, max_lr, initial_lr, initial_lr / final_div_factor]
        if three_phase
        else [initial_lr, max_lr, initial_lr / final_div_factor]
    )
    momentum_points = (
        [max_momentum, base_momentum, max_momentum, max_momentum]
        if three_phase
        else [max_momentum, base_momentum, max_momentum]
    )
    phase = next(index for index, end in enumerate(ends) if step <= end or index == len(ends) - 1)
    start = ends[phase - 1] if phase else 0.0
    fraction = (step - start) / (ends[phase] - start)
    return (
        schedules.anneal(lr_points[phase], lr_points[phase + 1], fraction, anneal_strategy),
        schedules.anneal(momentum_points[phase], momentum_points[phase + 1], fraction, anneal_strategy),
    )


ONE_CYCLE = {
    _STATEFUL: _counting_calls(_one_cycle),
    "cycle the momentum together with the lr instead of inversely": _one_cycle_momentum_with_lr,
    "end the phases at pct_start·total_steps and total_steps, without torch's - 1 (off by one)": _one_cycle_phase_ends_without_minus_one,
    "always anneal with a cosine, ignoring anneal_strategy": _one_cycle_with(anneal_strategy="cos"),
    "always anneal linearly, ignoring anneal_strategy": _one_cycle_with(anneal_strategy="linear"),
    "ignore final_div_factor (ending at max_lr / div_factor)": _one_cycle_with(final_div_factor=1.0),
    "ignore three_phase": _one_cycle_with(three_phase=False),
    "ignore div_factor (starting at max_lr)": _one_cycle_with(div_factor=1.0),
}


def _warmup_unshifted(schedule, warmup_steps, start_factor=1 / 3):
    return lambda step: (
        _with_warmup(schedule, warmup_steps, start_factor)(step) if step < warmup_steps else schedule(step)
    )


def _warmup_full_at_last_step(schedule, warmup_steps, start_factor=1 / 3):
    def warmed_up(step):
        if step < warmup_steps:
            fraction = step / (warmup_steps - 1) if warmup_steps > 1 else 1.0
            return schedule(0) * (start_factor + (1 - start_factor) * fraction)
        return schedule(step - warmup_steps)

    return warmed_up


def _warmup_from_zero(schedule, warmup_steps, start_factor=1 / 3):
    return _with_warmup(schedule, warmup_steps, 0.0)


WARMUP = {
    _STATEFUL: lambda schedule, warmup_steps, start_factor=1 / 3: _counting_calls(
        _with_warmup(schedule, warmup_steps, start_factor)
    ),
    "continue the wrapped schedule at `step` instead of restarting it at step - warmup_steps": _warmup_unshifted,
    "reach the full lr at the last warm-up step (dividing by warmup_steps - 1)": _warmup_full_at_last_step,
    "start the warm-up from 0 instead of start_factor × the lr": _warmup_from_zero,
}


def _range_test_variant(
    *, bias_correction=True, geometric=True, stop=True, stop_at_tie=False, back_off=10.0, as_arrays=True
):
    def wrong(loss_at_lr, start_lr=1e-5, end_lr=10.0, num_steps=100, smoothing=0.98, diverge_factor=4.0):
        lrs, losses = [], []
        average, best = 0.0, math.inf
        for index in range(num_steps):
            fraction = index / (num_steps - 1)
            lr = start_lr * (end_lr / start_lr) ** fraction if geometric else start_lr + (end_lr - start_lr) * fraction
            average = smoothing * average + (1 - smoothing) * float(loss_at_lr(lr))
            smoothed = average / (1 - smoothing ** (index + 1)) if bias_correction else average
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            diverged = smoothed >= diverge_factor * best if stop_at_tie else smoothed > diverge_factor * best
            if stop and (not math.isfinite(smoothed) or diverged):
                break
        suggested_lr = float(lrs[int(np.nanargmin(losses))] / back_off)
        if as_arrays:
            lrs, losses = np.array(lrs), np.array(losses)
        return {"lrs": lrs, "losses": losses, "suggested_lr": suggested_lr}

    return wrong


LR_RANGE_TEST = {
    "smooth without the bias correction (dividing by 1 - smoothing^(i+1))": _range_test_variant(bias_correction=False),
    "space the learning rates linearly instead of geometrically": _range_test_variant(geometric=False),
    "keep going after the loss diverges": _range_test_variant(stop=False),
    "suggest the lr of the lowest loss itself instead of a tenth of it": _range_test_variant(back_off=1.0),
    "stop when the smoothed loss reaches diverge_factor × the lowest (>=) instead of when it is above it (>)": (
        _range_test_variant(stop_at_tie=True)
    ),
    "return Python lists for the lrs and losses instead of NumPy arrays": _range_test_variant(as_arrays=False),
}


# Torch's and the answer key's ready-made versions of each exercise: a graded cell fails an answer that calls one.
# Nothing the answer key's own answer calls is among them (its cosine_warm_restarts_lr calls
# cosine_annealing_lr, say), so that it passes the hidden tests as a student's answer.
MUST_NOT_CALL = {
    "step_decay": (
        "torch.optim.lr_scheduler.StepLR",
        "torch.optim.lr_scheduler.MultiStepLR",
        "reference_impl.schedules.step_lr",
        "reference_impl.schedules.multistep_lr",
    ),
    "exponential": ("torch.optim.lr_scheduler.ExponentialLR", "reference_impl.schedules.exponential_lr"),
    "cosine": ("torch.optim.lr_scheduler.CosineAnnealingLR", "reference_impl.schedules.cosine_annealing_lr"),
    "warm_restarts": (
        "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts",
        "reference_impl.schedules.cosine_warm_restarts_lr",
    ),
    # torch warms up with SequentialLR([LinearLR, ...]); the answer key's join is its SequentialLR.
    "warmup": (
        "torch.optim.lr_scheduler.LinearLR",
        "torch.optim.lr_scheduler.SequentialLR",
        "reference_impl.schedules.with_warmup",
        "reference_impl.schedules.join",
    ),
    "one_cycle": ("torch.optim.lr_scheduler.OneCycleLR", "reference_impl.schedules.one_cycle"),
    "range_test": ("reference_impl.schedules.lr_range_test",),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"cosine": {"cosine_annealing_lr": _cosine_by_torch}}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "step_decay": {"step_lr": STEP_LR, "multistep_lr": MULTISTEP_LR},
    "exponential": {"exponential_lr": EXPONENTIAL_LR},
    "cosine": {"cosine_annealing_lr": COSINE},
    "warm_restarts": {"cosine_warm_restarts_lr": WARM_RESTARTS},
    "warmup": {"with_warmup": WARMUP},
    "one_cycle": {"one_cycle": ONE_CYCLE},
    "range_test": {"lr_range_test": LR_RANGE_TEST},
}
