"""Training recipes for the CIFAR ResNets: what the trainer is given, and the named ones (the paper's, a fast one).

A `Recipe` is plain functions and numbers: an optimizer factory, the lr (and optionally momentum) as functions of the
step, an optional gradient-clipping function, the batch size and the run's length. The command line builds one by
name (`RECIPES`); notebook 09 builds one from the student's own optimizer, schedule and clipping; both hand it to
the same `capstone.trainer.train`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from reference_impl.schedules import constant_lr, join, multistep_lr, one_cycle

PAPER_STEPS = 64000
PAPER_BATCH_SIZE = 128
PAPER_MILESTONE_FRACTIONS = (0.5, 0.75)  # lr ÷10 at 32k and 48k of 64k iterations
# ResNet-110 starts at lr 0.01 for about 400 iterations, "then go back to 0.1" (He et al. 2016, section 4.2).
PAPER_WARMUP_STEPS = 400
PAPER_WARMUP_MIN_DEPTH = 110
FAST_BATCH_SIZE = 512
FAST_EPOCHS = 30


@dataclass(frozen=True)
class Recipe:
    """How a run trains, as the trainer uses it.

    `make_optimizer(parameters)` builds the optimizer (any torch.optim.Optimizer, the student's own included).
    Before step s (counted from 0) every parameter group's lr is set to `lr_at(s)`, and, when `momentum_at` is
    given, its momentum (Adam's β1 for optimizers with betas) to `momentum_at(s)`. After each backward pass
    `clip(parameters)`, when given, clips the gradients in place and returns their total norm before clipping,
    as torch.nn.utils.clip_grad_norm_. The run takes `steps` batches of `batch_size` images (global, over all
    processes), the last partial batch of each epoch dropped; the loss is cross-entropy with `label_smoothing`.
    """

    make_optimizer: Callable
    lr_at: Callable
    batch_size: int
    steps: int
    momentum_at: Callable | None = None
    clip: Callable | None = None
    label_smoothing: float = 0.0


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


def paper_recipe(depth, train_images, batch_size=None, steps=None, epochs=None):
    """He et al. 2016: SGD with momentum 0.9 and weight decay 1e-4, batch 128, lr 0.1 ÷10 at 1/2 and 3/4 of 64k
    iterations (or of `steps`, or of `epochs` passes over `train_images`); from depth 110, lr 0.01 for the first
    400/64k of the run."""
    batch_size = batch_size or PAPER_BATCH_SIZE
    if steps is None:
        steps = PAPER_STEPS if epochs is None else epochs * (train_images // batch_size)
    warmup_steps = round(PAPER_WARMUP_STEPS * steps / PAPER_STEPS) if depth >= PAPER_WARMUP_MIN_DEPTH else 0
    lr_at = paper_schedule(steps, warmup_steps)
    return Recipe(partial(torch.optim.SGD, lr=lr_at(0), momentum=0.9, weight_decay=1e-4), lr_at, batch_size, steps)


def fast_recipe(depth, train_images, batch_size=None, steps=None, epochs=None):
    """Larger batch (512), one-cycle lr up to 0.4 with momentum cycling, Nesterov, weight decay 5e-4, label
    smoothing 0.1, 30 epochs: about a fifth of the paper's. Untuned on a GPU yet; `depth` is not used."""
    batch_size = batch_size or FAST_BATCH_SIZE
    if steps is None:
        steps = (epochs or FAST_EPOCHS) * (train_images // batch_size)

    # One-cycle (Smith 2018) with linear phases, momentum 0.95 -> 0.85 -> 0.95. Defined past the last step
    # too, as torch's schedulers are: it keeps the final value.
    def at(step):
        return one_cycle(min(step, steps - 1), max_lr=0.4, total_steps=steps, pct_start=0.25, anneal_strategy="linear")

    lr_at, momentum_at = (lambda step: at(step)[0]), (lambda step: at(step)[1])
    return Recipe(
        partial(torch.optim.SGD, lr=lr_at(0), momentum=momentum_at(0), weight_decay=5e-4, nesterov=True),
        lr_at,
        batch_size,
        steps,
        momentum_at=momentum_at,
        label_smoothing=0.1,
    )


# name -> recipe(depth, train_images, batch_size=None, steps=None, epochs=None); None keeps the recipe's own.
RECIPES = {"paper": paper_recipe, "fast": fast_recipe}
