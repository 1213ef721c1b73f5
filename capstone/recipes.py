"""Training recipes for the CIFAR ResNets: the paper's, and a fast one. Each fixes the optimizer and lr schedule."""
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import torch

from reference_impl.schedules import ScheduledLR, constant_lr, join, multistep_lr, one_cycle

PAPER_STEPS = 64000
PAPER_MILESTONE_FRACTIONS = (0.5, 0.75)  # lr ÷10 at 32k and 48k of 64k iterations
# ResNet-110 starts at lr 0.01 for about 400 iterations, "then go back to 0.1" (He et al. 2016, section 4.2).
PAPER_WARMUP_STEPS = 400
PAPER_WARMUP_MIN_DEPTH = 110


def paper_schedule(total_steps, warmup_steps=0):
    """lr of step: 0.1, ÷10 at 1/2 and 3/4 of the run; with `warmup_steps`, 0.01 before them, then back to 0.1.

    The milestones stay at the same absolute steps with or without warmup (32k and 48k in the paper).
    """
    milestones = [round(fraction * total_steps) for fraction in PAPER_MILESTONE_FRACTIONS]
    if not warmup_steps:
        return partial(multistep_lr, base_lr=0.1, milestones=milestones)
    # `join` restarts each piece at its own step 0: shift the milestones by the warmup.
    after_warmup = partial(multistep_lr, base_lr=0.1, milestones=[m - warmup_steps for m in milestones])
    return join([partial(constant_lr, base_lr=0.01), after_warmup], [warmup_steps])


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of a run; `schedule(total_steps, depth)` -> (lr_at, momentum_at or None), functions of the step."""
    name: str
    batch_size: int
    weight_decay: float
    nesterov: bool
    label_smoothing: float
    schedule: Callable
    default_steps: Optional[int] = None
    default_epochs: Optional[int] = None

    def total_steps(self, steps_per_epoch):
        return self.default_steps if self.default_steps is not None else self.default_epochs * steps_per_epoch

    def make_optimizer(self, parameters, total_steps, depth):
        """torch SGD (momentum 0.9) driven by a ScheduledLR that sets the lr (and momentum) every step."""
        lr_at, momentum_at = self.schedule(total_steps, depth)
        optimizer = torch.optim.SGD(parameters, lr=lr_at(0), momentum=0.9, weight_decay=self.weight_decay,
                                    nesterov=self.nesterov)
        return optimizer, ScheduledLR(optimizer, lr_at, momentum_at)


def _paper(total_steps, depth):
    warmup = round(PAPER_WARMUP_STEPS * total_steps / PAPER_STEPS) if depth >= PAPER_WARMUP_MIN_DEPTH else 0
    return paper_schedule(total_steps, warmup), None


def _fast(total_steps, depth):
    # One-cycle (Smith 2018) with linear phases and momentum cycling 0.95 -> 0.85 -> 0.95. The scheduler
    # is asked for the lr once more after the last step: clamp to the schedule's end.
    def at(step):
        return one_cycle(min(step, total_steps - 1), max_lr=0.4, total_steps=total_steps, pct_start=0.25,
                         anneal_strategy="linear")

    return (lambda step: at(step)[0]), (lambda step: at(step)[1])


RECIPES = {
    # He et al. 2016: SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, 64k iterations.
    "paper": Recipe("paper", batch_size=128, weight_decay=1e-4, nesterov=False, label_smoothing=0.0,
                    schedule=_paper, default_steps=PAPER_STEPS),
    # Larger batch, one-cycle lr, Nesterov, label smoothing: about a fifth of the paper's epochs. Untuned on GPU yet.
    "fast": Recipe("fast", batch_size=512, weight_decay=5e-4, nesterov=True, label_smoothing=0.1,
                   schedule=_fast, default_epochs=30),
}
