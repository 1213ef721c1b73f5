"""Learning-rate schedules as pure functions of the step, matching torch.optim.lr_scheduler.

Every schedule is a function ``schedule(step, ...) -> lr`` of the number of scheduler steps taken so
far (0 before the first `scheduler.step()`), with torch's parameter names, so the values equal what
torch's scheduler has put in ``optimizer.param_groups[0]["lr"]`` at that step. Fix the parameters with
`functools.partial` to get a schedule of the step alone; the combinators `with_warmup` and `join`
build new schedules from such ones. `ScheduledLR` drives any torch optimizer with a schedule, and
`lr_range_test` is Smith's learning-rate range test.
"""

import bisect
import math

import numpy as np
import torch
from torch.optim.lr_scheduler import LRScheduler


def constant_lr(step, base_lr):
    """The same learning rate at every step."""
    return base_lr


def step_lr(step, base_lr, step_size, gamma=0.1):
    """torch's StepLR: multiply by `gamma` every `step_size` steps (first decay at step == step_size)."""
    return base_lr * gamma ** (step // step_size)


def multistep_lr(step, base_lr, milestones, gamma=0.1):
    """torch's MultiStepLR: multiply by `gamma` at each milestone reached (step >= milestone)."""
    return base_lr * gamma ** bisect.bisect_right(sorted(milestones), step)


def exponential_lr(step, base_lr, gamma):
    """torch's ExponentialLR: base_lr · gamma^step, i.e. α_0 e^{-kt} with gamma = e^{-k}."""
    return base_lr * gamma**step


def cosine_annealing_lr(step, base_lr, T_max, eta_min=0.0):
    """torch's CosineAnnealingLR: half a cosine from base_lr (step 0) to eta_min (step T_max).

    Past T_max torch's recursion keeps following the cosine (back up towards base_lr), as this does.
    """
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2


def restart_position(step, T_0, T_mult=1):
    """(steps since the last restart, length of the current cycle) for SGDR's cycles T_0, T_0·T_mult, ..."""
    cycle_length = T_0
    while step >= cycle_length:  # integer arithmetic: no rounding error at the restart boundaries
        step -= cycle_length
        cycle_length *= T_mult
    return step, cycle_length


def cosine_warm_restarts_lr(step, base_lr, T_0, T_mult=1, eta_min=0.0):
    """torch's CosineAnnealingWarmRestarts (SGDR): cosine cycles that restart at base_lr, each T_mult times longer."""
    since_restart, cycle_length = restart_position(step, T_0, T_mult)
    return cosine_annealing_lr(since_restart, base_lr, cycle_length, eta_min)


def anneal(start, end, fraction, strategy="cos"):
    """Go from `start` (fraction 0) to `end` (fraction 1) along half a cosine or a straight line."""
    if strategy == "cos":
        return end + (start - end) / 2 * (1 + math.cos(math.pi * fraction))
    if strategy == "linear":
        return start + (end - start) * fraction
    raise ValueError(f"anneal strategy must be 'cos' or 'linear', got {strategy!r}")


def one_cycle(
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
    """torch's OneCycleLR: the pair (learning rate, momentum) at `step`, for steps 0 .. total_steps - 1.

    The lr rises from max_lr/div_factor to max_lr over the first pct_start of the steps while the
    momentum falls from max_momentum to base_momentum, then both go back (momentum moves inversely to
    the lr), the lr on to max_lr/(div_factor·final_div_factor). With three_phase the lr first returns
    to its start value, symmetric to the rise, and the last phase only anneals it further down.
    Phases end at steps pct_start·total_steps - 1 (and 2·pct_start·total_steps - 2), as in torch.
    """
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    rise_end = pct_start * total_steps - 1
    # Each phase: (last step, lr from, lr to, momentum from, momentum to).
    if three_phase:
        phases = [
            (rise_end, initial_lr, max_lr, max_momentum, base_momentum),
            (2 * pct_start * total_steps - 2, max_lr, initial_lr, base_momentum, max_momentum),
            (total_steps - 1, initial_lr, min_lr, max_momentum, max_momentum),
        ]
    else:
        phases = [
            (rise_end, initial_lr, max_lr, max_momentum, base_momentum),
            (total_steps - 1, max_lr, min_lr, base_momentum, max_momentum),
        ]
    phase_start = 0.0
    for index, (phase_end, lr_from, lr_to, momentum_from, momentum_to) in enumerate(phases):
        if step <= phase_end or index == len(phases) - 1:
            fraction = (step - phase_start) / (phase_end - phase_start)
            return (
                anneal(lr_from, lr_to, fraction, anneal_strategy),
                anneal(momentum_from, momentum_to, fraction, anneal_strategy),
            )
        phase_start = phase_end


def with_warmup(schedule, warmup_steps, start_factor=1 / 3):
    """`schedule` preceded by a linear warmup, as torch's SequentialLR([LinearLR, scheduler], [warmup_steps]).

    For step < warmup_steps the lr rises linearly from start_factor·schedule(0) towards schedule(0);
    from warmup_steps on it is schedule(step - warmup_steps): the wrapped schedule starts afresh.
    """

    def warmed_up(step):
        if step < warmup_steps:
            return schedule(0) * (start_factor + (1 - start_factor) * step / warmup_steps)
        return schedule(step - warmup_steps)

    return warmed_up


def join(schedules, milestones):
    """One schedule made of pieces, as torch's SequentialLR: schedules[i] runs from milestones[i-1] on,
    starting from its own step 0."""
    if len(milestones) != len(schedules) - 1:
        raise ValueError(f"{len(schedules)} schedules need {len(schedules) - 1} milestones, got {len(milestones)}")

    def joined(step):
        piece = bisect.bisect_right(milestones, step)
        return schedules[piece](step - (milestones[piece - 1] if piece else 0))

    return joined


class ScheduledLR(LRScheduler):
    """Drive a torch optimizer with schedules of the step: call `step()` after each `optimizer.step()`.

    `lr_at(step)` gives the lr of every parameter group (or pass one function per group);
    `momentum_at(step)`, if given, sets SGD's momentum or Adam's β1 the same way, as OneCycleLR does.
    """

    def __init__(self, optimizer, lr_at, momentum_at=None, last_epoch=-1):
        groups = len(optimizer.param_groups)
        self.lr_functions = list(lr_at) if isinstance(lr_at, (list, tuple)) else [lr_at] * groups
        self.momentum_functions = (
            list(momentum_at) if isinstance(momentum_at, (list, tuple)) else [momentum_at] * groups
        )
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        # Setting the momentum here, where the new lr is computed, is how torch's own OneCycleLR does it.
        for group, momentum_at in zip(self.optimizer.param_groups, self.momentum_functions):
            if momentum_at is not None:
                momentum = momentum_at(self.last_epoch)
                if "betas" in group:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return [lr_at(self.last_epoch) for lr_at in self.lr_functions]

    def state_dict(self):
        # The schedules are code, not state (and often lambdas, which cannot be pickled): as with torch's
        # LambdaLR, rebuild the scheduler with them and load the step count from here.
        return {
            key: value
            for key, value in super().state_dict().items()
            if key not in ("lr_functions", "momentum_functions")
        }


def lr_range_test(loss_at_lr, start_lr=1e-5, end_lr=10.0, num_steps=100, smoothing=0.98, diverge_factor=4.0):
    """Smith's learning-rate range test: train with an lr growing geometrically, watch the loss.

    `loss_at_lr(lr)` takes one training step at that lr and returns the minibatch loss. The lr goes
    from start_lr to end_lr over num_steps steps (lr_i = start_lr·(end_lr/start_lr)^(i/(num_steps-1))).
    The loss is smoothed by a bias-corrected moving average, avg_i = smoothing·avg_{i-1} +
    (1 - smoothing)·loss_i (avg_{-1} = 0), smoothed_i = avg_i / (1 - smoothing^(i+1)). The test stops
    after recording a smoothed loss above diverge_factor × the lowest so far. The suggested lr is the
    lr of the lowest smoothed loss divided by 10: a step back from the edge of divergence.
    Returns {"lrs": array, "losses": array of smoothed losses, "suggested_lr": float}.
    """
    lrs, losses = [], []
    average, best = 0.0, math.inf
    for index in range(num_steps):
        lr = start_lr * (end_lr / start_lr) ** (index / (num_steps - 1))
        average = smoothing * average + (1 - smoothing) * float(loss_at_lr(lr))
        smoothed = average / (1 - smoothing ** (index + 1))
        lrs.append(lr)
        losses.append(smoothed)
        best = min(best, smoothed)
        if not math.isfinite(smoothed) or smoothed > diverge_factor * best:
            break
    lrs, losses = np.array(lrs), np.array(losses)
    return {"lrs": lrs, "losses": losses, "suggested_lr": float(lrs[np.nanargmin(losses)] / 10)}


def minibatch_trainer(model, optimizer, data, batch_size=128, seed=0):
    """A `loss_at_lr` for `lr_range_test`: each call sets every group's lr and takes one SGD step on a
    random minibatch of ``data = {"x", "y"}``, returning its cross-entropy loss.

    It trains `model` in place: run the range test on a throwaway model, then start afresh.
    """
    x, y = torch.as_tensor(data["x"]), torch.as_tensor(data["y"])
    generator = torch.Generator().manual_seed(seed)
    loss_fn = torch.nn.CrossEntropyLoss()

    def loss_at_lr(lr):
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = torch.randint(len(x), (batch_size,), generator=generator)
        loss = loss_fn(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return loss_at_lr
