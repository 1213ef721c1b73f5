r"""Lesson 09's CPU-scale experiment: which parts of a training recipe matter, measured over seeds.

A ResNet-8 (He et al. 2016, n = 1) learns a small generated image task (`load_task`) on one CPU core in seconds
per run, through the capstones' own trainer (capstone.trainer.train), with an optimizer, learning-rate schedule
and gradient clipping that come in as functions: the student's in notebook 09, the reference's in the recording.

The baseline recipe is SGD with Nesterov momentum μ = 0.9 and weight decay λ = 5·10⁻⁴, a linear warm-up into
cosine annealing (lesson 04's convention) and global-norm clipping at c = 2. Each ablation changes one thing:

- ``constant_lr``: η_max at every step (no warm-up, no decay);
- ``one_cycle``: Smith's one-cycle (torch's OneCycleLR, with momentum cycling) at the same peak η_max in place
  of warm-up + cosine: lesson 04's "fastest time to accuracy" tested where time to accuracy is measured;
- ``no_clipping``: no clipping (the baseline records the fraction of its steps that clipping shortened);
- ``no_weight_decay``: λ = 0.

Every arm trains on the same seeds and reports the validation and test accuracy at the last epoch (fixed in
advance; the arms are fixed in advance too, so each reads its test set once), and the steps and seconds until
the validation accuracy first reaches TASK["target_accuracy"], as mean ± std over seeds, compared with the baseline by
Welch's test (course.results.compare). A fair optimizer comparison follows: SGD and AdamW each get the same
grid of learning rates and weight decays, scored by mean validation accuracy; the chosen setting of each is
then trained again on fresh seeds, and only those runs are evaluated on the test set.
"""

import math
from functools import cache, partial

import numpy as np
import torch

from capstone.cifar10 import split_validation, synthetic_cifar10
from capstone.recipes import Recipe
from capstone.trainer import TrainConfig, train
from course.results import compare, every_run, mean_std, one_thread, run_groups, summarize
from course.settings import fast_mode
from reference_impl import schedules
from reference_impl.clipping import clip_grad_norm
from reference_impl.models import build_model
from reference_impl.optim import SGD, AdamW

# What every run shares (each run's settings carry it, so that the recording's cache notices a change):
TASK = {
    "model": "resnet8",
    # synthetic_cifar10's images with much more pixel noise than its default (48), so that accuracy stays below
    # 100 % and recipes can differ; every other pixel kept (16x16), which makes a training step about 5x cheaper.
    "noise": 150.0,
    "subsample": 2,
    "data_seed": 0,  # the class patterns, the images and the validation split
    "target_accuracy": 0.7,  # validation accuracy for time to target, fixed before the recording
    "warmup_fraction": 0.1,  # of the run's steps
    "warmup_start_factor": 0.1,  # the warm-up starts at this fraction of η_max
}
SIZES = {
    # Images and epochs; batch 128, so the full size takes 16 steps an epoch, 160 in all.
    "full": {"train_images": 2048, "val_images": 512, "test_images": 1024, "epochs": 10, "batch_size": 128},
    "fast": {"train_images": 64, "val_images": 32, "test_images": 32, "epochs": 2, "batch_size": 32},
}
SEEDS = (0, 1, 2)
FRESH_SEEDS = (10, 11, 12)  # the optimizer comparison's chosen settings are trained again on these

BASELINE = {
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4, "nesterov": True},
    "schedule": "warmup_cosine",
    "max_norm": 2.0,
}
ARMS = {
    "baseline": BASELINE,
    "constant_lr": {**BASELINE, "schedule": "constant"},
    "one_cycle": {**BASELINE, "schedule": "one_cycle"},
    "no_clipping": {**BASELINE, "max_norm": None},
    "no_weight_decay": {**BASELINE, "optimizer": {**BASELINE["optimizer"], "weight_decay": 0.0}},
}
ARM_LABELS = {
    "baseline": "baseline (SGD+Nesterov, warm-up+cosine, clip 2)",
    "constant_lr": "constant lr",
    "one_cycle": "one-cycle instead of warm-up+cosine",
    "no_clipping": "no clipping",
    "no_weight_decay": "no weight decay",
}
# The optimizer comparison: the same number of settings for each, on the baseline's schedule and clipping.
OPTIMIZER_GRIDS = {
    "SGD": {
        "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
        "lr": (0.03, 0.1, 0.3, 1.0),
        "weight_decay": (5e-4, 2e-3),
    },
    "AdamW": {
        "optimizer": {"name": "adamw", "betas": (0.9, 0.999), "eps": 1e-8},
        "lr": (1e-3, 3e-3, 1e-2, 3e-2),
        "weight_decay": (0.01, 0.1),
    },
}


# --- the task -------------------------------------------------------------------------------------------------


@cache
def load_task(noise, subsample, data_seed, train_images, val_images, test_images):
    """``{"x", "y", "x_val", "y_val", "x_test", "y_test"}``: uint8 images (N, 3, 32/s, 32/s) and int64 labels.

    capstone.cifar10.synthetic_cifar10's ten colour patterns under Gaussian pixel noise of std `noise` (then
    clipped to 0..255), every `subsample`-th pixel kept; `val_images` of the generated training images held out
    by capstone.cifar10.split_validation. The same arguments always give the same arrays (cached: treat them as
    read-only).
    """
    data = synthetic_cifar10(train_images + val_images, test_images, seed=data_seed, noise=noise)
    data = {
        name: np.ascontiguousarray(array[:, :, ::subsample, ::subsample]) if name.startswith("x") else array
        for name, array in data.items()
    }
    return split_validation(data, size=val_images, seed=data_seed)


# --- the reference's pieces (the notebook passes the student's) -----------------------------------------------


def reference_make_optimizer(parameters, config):
    """The reference optimizers (reference_impl.optim) from a config, as lesson 09's `make_optimizer`:

    ``{"name": "sgd", "lr", "momentum", "weight_decay", "nesterov"}`` -> SGD (torch's convention: b ← μb + g + λθ);
    ``{"name": "adamw", "lr", "betas", "eps", "weight_decay"}`` -> AdamW (decoupled: θ ← θ(1 − ηλ) before the step).
    """
    optimizers = {"sgd": SGD, "adamw": AdamW}
    hyper = {key: value for key, value in config.items() if key != "name"}
    return optimizers[config["name"]](parameters, **hyper)


def warmup_cosine_lr(step, peak_lr, total_steps, warmup_steps, start_factor=TASK["warmup_start_factor"]):
    r"""Linear warm-up into cosine annealing, in lesson 04's convention (torch's SequentialLR of LinearLR and
    CosineAnnealingLR with milestone W):

    $$\eta_s = \eta_{max}\Big(f + (1 - f)\frac{s}{W}\Big) \quad (s < W), \qquad
      \eta_s = \frac{\eta_{max}}{2}\Big(1 + \cos\frac{\pi (s - W)}{T - W}\Big) \quad (s \ge W),$$

    f = `start_factor`, W = `warmup_steps`, T = `total_steps`: f·η_max at step 0, η_max first at step W, and
    towards 0 at step T (the last step, T − 1, is the last that trains).
    """
    cosine = partial(schedules.cosine_annealing_lr, base_lr=peak_lr, T_max=total_steps - warmup_steps)
    return schedules.with_warmup(cosine, warmup_steps, start_factor)(step)


# --- one run --------------------------------------------------------------------------------------------------


class CountingClip:
    """`clip(parameters, max_norm)` as the trainer calls it, `clip(parameters)`, counting the steps it shortens.

    A step is clipped when the total norm before clipping exceeds max_norm (scale max_norm/(‖g‖ + 10⁻⁶) < 1).
    """

    def __init__(self, clip, max_norm):
        self.clip, self.max_norm = clip, max_norm
        self.steps = self.clipped = 0

    def __call__(self, parameters):
        norm = self.clip(parameters, self.max_norm)
        self.steps += 1
        self.clipped += float(norm) > self.max_norm
        return norm


def schedule_functions(
    name, peak_lr, total_steps, task=TASK, warmup_cosine=warmup_cosine_lr, one_cycle=schedules.one_cycle
):
    """``(lr_at, momentum_at)`` of the named schedule, functions of the step; momentum_at None: not scheduled.

    - ``"warmup_cosine"``: `warmup_cosine` (step, peak_lr, total_steps, warmup_steps, start_factor) with
      W = round(task["warmup_fraction"]·T) and f = task["warmup_start_factor"];
    - ``"constant"``: η_max at every step;
    - ``"one_cycle"``: `one_cycle` (step, max_lr, total_steps) -> (lr, momentum) with torch's OneCycleLR's
      defaults: up from η_max/25 over the first 30 % of the steps, then down to η_max/(25·10⁴), the momentum
      (SGD's μ, Adam's β₁) from 0.95 to 0.85 and back.
    """
    if name == "warmup_cosine":
        lr_at = partial(
            warmup_cosine,
            peak_lr=peak_lr,
            total_steps=total_steps,
            warmup_steps=round(task["warmup_fraction"] * total_steps),
            start_factor=task["warmup_start_factor"],
        )
        return lr_at, None
    if name == "constant":
        return partial(schedules.constant_lr, base_lr=peak_lr), None
    if name == "one_cycle":
        return (
            lambda step: one_cycle(step, max_lr=peak_lr, total_steps=total_steps)[0],
            lambda step: one_cycle(step, max_lr=peak_lr, total_steps=total_steps)[1],
        )
    raise ValueError(f"unknown schedule {name!r}: use warmup_cosine, constant or one_cycle")


def train_run(
    settings,
    make_optimizer=reference_make_optimizer,
    warmup_cosine=warmup_cosine_lr,
    one_cycle=schedules.one_cycle,
    clip=clip_grad_norm,
    device="cpu",
):
    """Train one run as ``settings = {"task", "recipe", "size", "seed", "test"}`` say, through capstone's trainer.

    ``task`` is TASK (the model, the data, the target, the warm-up's shape); ``recipe = {"optimizer": a config
    for make_optimizer, "schedule": a name of `schedule_functions`, "max_norm": c or None}``; ``size`` a value of
    SIZES; ``seed`` fixes the initialization, the batch order and the augmentation; with ``test`` False the
    trainer is not even given the test split. The optimizer comes from `make_optimizer(parameters, config)`, the
    schedule from `warmup_cosine` or `one_cycle`, the clipping from `clip(parameters, max_norm) -> total norm
    before clipping`. Trains on `device` (the recording: the CPU), on one thread whatever torch's setting, so
    that a run gives the same numbers in a notebook, a test and a recording with several workers.

    Returns the last epoch's ``val_accuracy``, ``val_loss``, ``train_loss`` (and ``test_accuracy`` with
    ``test``); ``steps_to_target`` and ``seconds_to_target`` (training time, wall clock) at the end of the first
    epoch whose validation accuracy reaches task["target_accuracy"], None if none does; ``seconds`` (all epochs);
    ``fraction_clipped`` and ``gradient_norm_max`` (the largest total norm before clipping; both None without
    clipping); ``diverged``; and per epoch ``curve_steps``, ``curve`` (validation accuracy) and
    ``epoch_seconds``.
    """
    task, recipe_settings, size = settings["task"], settings["recipe"], settings["size"]
    data = load_task(
        task["noise"],
        task["subsample"],
        task["data_seed"],
        size["train_images"],
        size["val_images"],
        size["test_images"],
    )
    if not settings["test"]:
        data = {name: array for name, array in data.items() if not name.endswith("_test")}
    total_steps = size["epochs"] * (len(data["x"]) // size["batch_size"])
    lr_at, momentum_at = schedule_functions(
        recipe_settings["schedule"], recipe_settings["optimizer"]["lr"], total_steps, task, warmup_cosine, one_cycle
    )
    max_norm = recipe_settings["max_norm"]
    counting_clip = None if max_norm is None else CountingClip(clip, max_norm)
    recipe = Recipe(
        make_optimizer=partial(make_optimizer, config=recipe_settings["optimizer"]),
        lr_at=lr_at,
        batch_size=size["batch_size"],
        steps=total_steps,
        momentum_at=momentum_at,
        clip=counting_clip,
    )
    with one_thread():
        torch.manual_seed(settings["seed"])
        model = build_model(task["model"])
        config = TrainConfig(seed=settings["seed"], device=device, channels_last=False, progress=False)
        summary = train(model, data, recipe, config)
    history = summary["history"]
    target = task["target_accuracy"]
    reached = next((index for index, row in enumerate(history) if row["val_accuracy"] >= target), None)
    result = {
        "val_accuracy": history[-1]["val_accuracy"],
        "val_loss": history[-1]["val_loss"],
        "train_loss": history[-1]["train_loss"],
        "steps_to_target": None if reached is None else history[reached]["step"],
        "seconds_to_target": None if reached is None else sum(row["seconds"] for row in history[: reached + 1]),
        "seconds": sum(row["seconds"] for row in history),
        "fraction_clipped": None if counting_clip is None else counting_clip.clipped / counting_clip.steps,
        "gradient_norm_max": None if counting_clip is None else max(row["gradient_norm_max"] for row in history),
        "diverged": summary["diverged"],
        # A run that diverged stops early: its curve ends in NaN.
        "curve_steps": [(epoch + 1) * total_steps // size["epochs"] for epoch in range(size["epochs"])],
        "curve": [row["val_accuracy"] for row in history] + [float("nan")] * (size["epochs"] - len(history)),
        "epoch_seconds": [row["seconds"] for row in history],
    }
    if settings["test"]:
        result["test_accuracy"] = history[-1]["test_accuracy"]
    return result


# --- the experiment -------------------------------------------------------------------------------------------


def run_ablation(
    make_optimizer=reference_make_optimizer,
    warmup_cosine=warmup_cosine_lr,
    one_cycle=schedules.one_cycle,
    clip=clip_grad_norm,
    size=None,
    seeds=SEEDS,
    fresh_seeds=FRESH_SEEDS,
    run_all=None,
    train=None,
    device="cpu",
):
    """The whole experiment with these pieces: ``{"settings", "results", "runs"}``, JSON-able.

    `make_optimizer(parameters, config) -> torch.optim.Optimizer`, `warmup_cosine(step, peak_lr, total_steps,
    warmup_steps, start_factor) -> lr`, `one_cycle(step, max_lr, total_steps) -> (lr, momentum)` and
    `clip(parameters, max_norm) -> total norm` train every run (see `train_run`); `size` is a value of SIZES
    (default: "fast" under COURSE_FAST, else "full"); `run_all(train, settings_list)` runs a list of runs
    (course.results.run_all, with a cache when recording); `train(settings)` replaces the training itself
    (tests); `device` is where the runs train. ``results`` holds

    - ``target_accuracy``: the validation accuracy of time to target;
    - ``arms[arm]`` for each of ARMS: ``val_accuracy``, ``test_accuracy``, ``train_loss``, ``steps_to_target``,
      ``seconds_to_target``, ``seconds`` (each a summary over `seeds`: {"mean", "std", "values"}, the mean None
      when a seed never reached the target), ``reached_target`` (how many seeds did), ``fraction_clipped``
      and ``gradient_norm_max`` (summaries, or None without clipping), ``curve_steps`` and ``curve`` (the
      mean validation accuracy at the end of each epoch);
    - ``against_baseline[arm]``: for each number above that every seed has, the difference arm − baseline,
      Welch's p-value and ``within_noise`` (course.results.compare), or None;
    - ``optimizers``: ``sweep[name][lr][weight_decay]``, the validation accuracy over `seeds` of each setting
      of OPTIMIZER_GRIDS; ``chosen[name]``: the setting with the best mean validation accuracy (``lr``,
      ``weight_decay``) and its runs on `fresh_seeds`, summarized as an arm is; ``adamw_against_sgd``: the
      chosen AdamW's numbers compared with the chosen SGD's.
    """
    if run_all is None:
        from course.results import run_all
    if size is None:
        size = SIZES["fast" if fast_mode() else "full"]
    if train is None:
        train = partial(
            train_run,
            make_optimizer=make_optimizer,
            warmup_cosine=warmup_cosine,
            one_cycle=one_cycle,
            clip=clip,
            device=device,
        )

    def runs(recipe, seeds, test):
        return [{"task": TASK, "recipe": recipe, "size": size, "seed": seed, "test": test} for seed in seeds]

    def grid_recipe(name, lr, weight_decay):
        grid = OPTIMIZER_GRIDS[name]
        return {**BASELINE, "optimizer": {**grid["optimizer"], "lr": lr, "weight_decay": weight_decay}}

    arm_runs = {arm: runs(recipe, seeds, test=True) for arm, recipe in ARMS.items()}
    # The optimizers' choice sees validation numbers only: its runs are trained without the test split.
    sweep_runs = {
        (name, lr, weight_decay): runs(grid_recipe(name, lr, weight_decay), seeds, test=False)
        for name, grid in OPTIMIZER_GRIDS.items()
        for lr in grid["lr"]
        for weight_decay in grid["weight_decay"]
    }
    done = run_groups(run_all, train, {**arm_runs, **sweep_runs})
    sweep = {
        name: {
            f"{lr:g}": {
                f"{weight_decay:g}": summarize([run["val_accuracy"] for run in done[name, lr, weight_decay]])
                for weight_decay in grid["weight_decay"]
            }
            for lr in grid["lr"]
        }
        for name, grid in OPTIMIZER_GRIDS.items()
    }
    best = {
        name: max(
            ((lr, weight_decay) for lr in grid["lr"] for weight_decay in grid["weight_decay"]),
            key=lambda setting: _mean_or_worst(sweep[name][f"{setting[0]:g}"][f"{setting[1]:g}"]),
        )
        for name, grid in OPTIMIZER_GRIDS.items()
    }
    chosen_runs = {name: runs(grid_recipe(name, *best[name]), fresh_seeds, test=True) for name in OPTIMIZER_GRIDS}
    done.update(run_groups(run_all, train, chosen_runs))

    arms = {arm: _summarize_runs(done[arm]) for arm in ARMS}
    chosen = {
        name: {"lr": best[name][0], "weight_decay": best[name][1], **_summarize_runs(done[name])}
        for name in OPTIMIZER_GRIDS
    }
    results = {
        "target_accuracy": TASK["target_accuracy"],
        "arms": arms,
        "against_baseline": {arm: _compare_runs(arms["baseline"], arms[arm]) for arm in ARMS if arm != "baseline"},
        "optimizers": {
            "sweep": sweep,
            "chosen": chosen,
            "adamw_against_sgd": _compare_runs(chosen["SGD"], chosen["AdamW"]),
        },
    }
    settings = {
        "task": TASK,
        "data": (
            f"capstone.cifar10.synthetic_cifar10(noise={TASK['noise']:g}), every {TASK['subsample']}nd pixel "
            f"(16x16), {size['train_images']} train / {size['val_images']} validation / {size['test_images']} test"
        ),
        "size": size,
        "seeds": list(seeds),
        "fresh_seeds": list(fresh_seeds),
        "arms": ARMS,
        "optimizer_grids": OPTIMIZER_GRIDS,
        "one_cycle": "torch's OneCycleLR defaults at the baseline's peak lr (pct_start 0.3, momentum 0.95-0.85)",
        "accuracy_at": "the last epoch, fixed in advance",
        "time": "wall-clock training seconds on one CPU thread per run, evaluation excluded",
        "chosen_on": "mean validation accuracy at the last epoch",
    }
    return {
        "settings": settings,
        "results": results,
        "runs": every_run({**arm_runs, **sweep_runs, **chosen_runs}, done),
    }


SUMMARIZED = ("val_accuracy", "test_accuracy", "train_loss", "steps_to_target", "seconds_to_target", "seconds")
CLIPPING = ("fraction_clipped", "gradient_norm_max")  # measured only in runs that clip


def _summarize_runs(runs):
    """One arm's runs over seeds: each SUMMARIZED number's summary, how many reached the target, the clipping,
    and the mean validation-accuracy curve."""
    summary = {key: summarize([run[key] for run in runs]) for key in SUMMARIZED}
    summary["reached_target"] = sum(run["steps_to_target"] is not None for run in runs)
    for key in CLIPPING:
        values = [run[key] for run in runs]
        summary[key] = None if None in values else summarize(values)
    summary["curve_steps"] = runs[0]["curve_steps"]
    # dtype float: a recorded NaN comes back from the cache as None
    summary["curve"] = np.mean(np.array([run["curve"] for run in runs], dtype=float), axis=0).tolist()
    return summary


def _compare_runs(a, b):
    """Each SUMMARIZED number of arm `b` against arm `a` (course.results.compare), None where a seed lacks it."""
    return {
        key: _compare(a[key], b[key]) if a[key]["mean"] is not None and b[key]["mean"] is not None else None
        for key in SUMMARIZED
    }


def _compare(a, b):
    comparison = compare(a, b)
    # Welch's test has no answer when neither arm varies over seeds (tiny runs that all predict one class): the
    # same number everywhere is within the noise, a different one is not.
    if math.isnan(comparison["p_value"]):
        comparison["within_noise"] = comparison["difference"] == 0
    return comparison


def _mean_or_worst(summary):
    # A setting that diverged in some seed has no mean: it ranks below every setting that trained.
    return -np.inf if summary["mean"] is None else summary["mean"]


def format_table(results):
    """The ablation and the optimizer comparison as plain text: mean ± std over seeds, and the difference from
    the baseline (from SGD for AdamW) marked "(noise)" when Welch's test finds it within the seed noise."""

    def difference(comparison, key):
        if comparison is None or comparison[key] is None:
            return ""
        verdict = " (noise)" if comparison[key]["within_noise"] else ""
        return f"{comparison[key]['difference']:+.3f}{verdict}"

    def steps(summary):
        reached = summary["steps_to_target"]["mean"] is not None
        return mean_std(summary["steps_to_target"], digits=0) if reached else "not all"

    header = (
        f"{'recipe':<48} {'val accuracy':>13} {'test accuracy':>13} {'Δ test':>15} "
        f"{'steps to ' + format(results['target_accuracy'], '.0%'):>13} {'reached':>7} {'clipped':>7}"
    )
    lines = [header, "-" * len(header)]
    rows = [
        (ARM_LABELS[arm], summary, results["against_baseline"].get(arm)) for arm, summary in results["arms"].items()
    ]
    chosen = results["optimizers"]["chosen"]
    rows += [
        (
            f"{name} tuned on validation (lr {summary['lr']:g}, λ {summary['weight_decay']:g})",
            summary,
            results["optimizers"]["adamw_against_sgd"] if name == "AdamW" else None,
        )
        for name, summary in chosen.items()
    ]
    for label, summary, comparison in rows:
        clipped = summary["fraction_clipped"]
        lines.append(
            f"{label:<48} {mean_std(summary['val_accuracy']):>13} {mean_std(summary['test_accuracy']):>13} "
            f"{difference(comparison, 'test_accuracy'):>15} {steps(summary):>13} "
            f"{summary['reached_target']:>4}/{len(summary['val_accuracy']['values'])} "
            f"{'' if clipped is None else format(clipped['mean'], '.0%'):>7}"
        )
    return "\n".join(lines)


def reference_runs(run_all):
    """The full-size experiment with the reference pieces, as results/09_capstone_training_recipe.json records it."""
    return run_ablation(size=SIZES["full"], run_all=run_all)
