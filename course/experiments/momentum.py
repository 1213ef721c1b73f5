"""Lesson 01's experiment: does momentum help once each method has its own best learning rate?

Plain SGD, heavy-ball (μ = 0.9) and Nesterov (μ = 0.9) train the same MLP on MNIST-1D for the same number of steps.
Each method's learning rate is chosen on the validation split (mean over seeds); only then does the test set
give the one final figure, for the chosen runs. A second sweep varies β of the EMA form at a fixed α
(torch's lr = (1 - β)α), so that the step size on a steady slope stays the same and only the memory changes.
"""

import numpy as np
import torch

from course.data import load_mnist1d
from course.results import compare, every_run, one_thread, run_groups, summarize
from reference_impl.models import MLP
from reference_impl.optim import SGD

from .classifier import smooth, train_classifier

LAYER_SIZES = (40, 100, 100, 10)
METHODS = {"SGD": {}, "heavy-ball": {"momentum": 0.9}, "Nesterov": {"momentum": 0.9, "nesterov": True}}
LEARNING_RATES = (0.03, 0.1, 0.3, 1.0, 3.0)
BETAS = (0.0, 0.5, 0.9, 0.99)
ALPHA = 0.5  # the EMA form's learning rate in the β sweep
SEEDS = (0, 1, 2, 3, 4)
FULL_STEPS = 3000
CURVE_POINTS = 60


def train_run(settings, optimizer_class=SGD):
    """Train the lesson's MLP as `settings` say: ``{"hyper", "steps", "seed", "test"}``.

    `hyper` is what the optimizer is built with (lr, momentum, nesterov); `seed` fixes both the initialization
    and the minibatches. Returns the run's final numbers: ``train_loss`` (mean over the last 10 % of the
    steps), ``val_loss``, ``val_accuracy``, ``curve`` (the smoothed training loss at CURVE_POINTS steps),
    and ``test_loss``, ``test_accuracy`` when `test` is set. Trains on one thread, whatever torch's setting, so
    that a run gives the same numbers in a notebook, a test and a recording with several workers.
    """
    with one_thread():
        torch.manual_seed(settings["seed"])
        model = MLP(LAYER_SIZES)
        optimizer = optimizer_class(model.parameters(), **settings["hyper"])
        history = train_classifier(
            model, optimizer, load_mnist1d(), steps=settings["steps"], seed=settings["seed"], test=settings["test"]
        )
    steps = settings["steps"]
    losses = np.full(steps, np.nan)  # a run that diverged stops early: its curve ends in NaN
    losses[: len(history["train_loss"])] = history["train_loss"]
    at = np.linspace(0, steps - 1, min(CURVE_POINTS, steps)).astype(int)
    result = {
        "train_loss": float(np.mean(losses[-max(1, steps // 10) :])),
        "val_loss": history["val_loss"][-1],
        "val_accuracy": history["val_accuracy"][-1],
        "curve_steps": (at + 1).tolist(),
        "curve": smooth(losses, window=max(1, steps // 60))[at].tolist(),
    }
    if settings["test"]:
        result.update(test_loss=history["test_loss"], test_accuracy=history["test_accuracy"])
    return result


def compare_momentum(train, steps, seeds=SEEDS, run_all=None):
    """The whole experiment: ``{"settings", "results", "runs"}``, JSON-able.

    `train(settings)` trains one run (`train_run` with the optimizer of your choice); `run_all(train, list)`
    runs a list of them (course.results.run_all, with a cache when recording). ``results`` holds
    - ``sweep[method][lr]``: the validation accuracy over seeds at each learning rate;
    - ``chosen[method]``: the lr with the best mean validation accuracy, and the runs at that lr: their
      ``val_accuracy``, ``train_loss`` and, measured only for these, ``test_accuracy``;
    - ``against_sgd[method]``: each momentum method's test accuracy against SGD's: the difference, Welch's
      p-value and whether the difference is within the seed-to-seed noise (course.results.compare);
    - ``beta[β]``: the EMA form at lr (1 - β)·ALPHA: ``train_loss``, ``val_accuracy`` and the mean ``curve``,
      and for β > 0 each number compared with β = 0's (``train_loss_against_beta_0``, ``val_accuracy_against_beta_0``).
    """
    if run_all is None:
        from course.results import run_all
    seeds = list(seeds)

    def runs(hyper, test=False):
        return [{"hyper": hyper, "steps": steps, "seed": seed, "test": test} for seed in seeds]

    sweep_runs = {(method, lr): runs({**hyper, "lr": lr}) for method, hyper in METHODS.items() for lr in LEARNING_RATES}
    beta_runs = {beta: runs({"lr": (1 - beta) * ALPHA, "momentum": beta}) for beta in BETAS}
    done = run_groups(run_all, train, {**sweep_runs, **beta_runs})

    sweep = {
        method: {f"{lr:g}": summarize([r["val_accuracy"] for r in done[method, lr]]) for lr in LEARNING_RATES}
        for method in METHODS
    }
    best_lr = {method: max(LEARNING_RATES, key=lambda lr: sweep[method][f"{lr:g}"]["mean"]) for method in METHODS}
    final_runs = {method: runs({**METHODS[method], "lr": best_lr[method]}, test=True) for method in METHODS}
    done.update(run_groups(run_all, train, final_runs))

    chosen = {
        method: {
            "lr": best_lr[method],
            **{
                key: summarize([run[key] for run in done[method]])
                for key in ("val_accuracy", "train_loss", "test_accuracy")
            },
        }
        for method in METHODS
    }
    results = {
        "sweep": sweep,
        "chosen": chosen,
        "against_sgd": {
            method: compare(chosen["SGD"]["test_accuracy"], chosen[method]["test_accuracy"])
            for method in METHODS
            if method != "SGD"
        },
        "beta": {
            f"{beta:g}": {
                "train_loss": summarize([r["train_loss"] for r in done[beta]]),
                "val_accuracy": summarize([r["val_accuracy"] for r in done[beta]]),
                "curve_steps": done[beta][0]["curve_steps"],
                "curve": np.mean([r["curve"] for r in done[beta]], axis=0).tolist(),
            }
            for beta in BETAS
        },
    }
    for key in ("train_loss", "val_accuracy"):
        no_memory = results["beta"][f"{BETAS[0]:g}"][key]
        for beta in BETAS[1:]:
            results["beta"][f"{beta:g}"][f"{key}_against_beta_{BETAS[0]:g}"] = compare(
                no_memory, results["beta"][f"{beta:g}"][key]
            )
    settings = {
        "model": f"MLP {LAYER_SIZES}",
        "data": "MNIST-1D, 3500 train / 500 validation / 1000 test",
        "steps": steps,
        "batch_size": 128,
        "seeds": seeds,
        "methods": METHODS,
        "learning_rates": list(LEARNING_RATES),
        "betas": list(BETAS),
        "alpha": ALPHA,
        "chosen_on": "mean validation accuracy at the last step",
    }
    return {
        "settings": settings,
        "results": results,
        "runs": every_run({**sweep_runs, **beta_runs, **final_runs}, done),
    }


def reference_runs(run_all):
    """The full-size experiment with the reference optimizer, as results/01_momentum.json records it."""
    return compare_momentum(train_run, FULL_STEPS, SEEDS, run_all)
