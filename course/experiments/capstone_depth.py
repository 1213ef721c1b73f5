"""Lesson 08's experiment: the degradation problem, measured over seeds, with a batch-norm ablation and the
per-layer gradient norms at initialization.

Plain nets, ResNets (He et al. 2016, the original block: a ReLU after the sum) and pre-activation ResNets (He et
al., "Identity Mappings", 2016: nothing after the sum) of two depths train with the paper's recipe (SGD, μ = 0.9,
λ = 10⁻⁴, lr 0.1 ÷10 at 1/2 and 3/4 of the run) through the capstones' one trainer (capstone.trainer.train), on
the same data and seeds. Every number is read at the last epoch, fixed in advance; nothing is chosen, so the
test set is read once, at that epoch. At the deeper depth the plain net and the ResNet train again with every
batch norm removed. Three sizes:

- ``SIZES["cpu"]``: the CPU scale, used (and recorded) whenever no GPU or no CIFAR-10 is present. Nets of width 8
  (stages of 8, 16, 32 channels) at depths 8 and 20 on 16x16 generated images (capstone.cifar10's stand-in, with
  four colour patterns per class and strong pixel noise, so that no net reaches zero training error in 8 epochs);
- ``SIZES["gpu"]``: He et al.'s nets (width 16) at depths 20 and 56 on CIFAR-10, 40 epochs;
- ``SIZES["fast"]``: seconds under COURSE_FAST=1, to check the code (its numbers mean nothing).

`train_run` builds the plain nets and ResNets with a `build_network(n, residual, width)` (the student's
`cifar_resnet` in the notebook, the reference's in the recording); the pre-activation nets always come from the
reference (no exercise builds them).
"""

from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from capstone.augment import normalize
from capstone.cifar10 import load_cifar10, synthetic_cifar10
from capstone.recipes import paper_recipe
from capstone.trainer import TrainConfig, train
from course.data import split_validation
from course.results import compare, every_run, one_thread, run_groups, summarize
from reference_impl.diagnostics import layer_gradient_norms
from reference_impl.models.resnet import CifarResNet

KINDS = {"plain": "plain", "ResNet": "ResNet (original block)", "preact": "pre-activation ResNet"}
ABLATED_KINDS = ("plain", "ResNet")  # the batch-norm ablation, at the deeper depth
SEEDS = (0, 1, 2)
GRADIENT_BATCH = 128  # images in the one batch whose gradient is measured

SIZES = {
    "cpu": {
        "task": {
            "name": "synthetic",
            "image_size": 16,
            "patterns_per_class": 4,
            "noise": 80.0,
            "train_images": 5000,
            "val_images": 1000,
            "test_images": 1000,
        },
        "depths": (8, 20),
        "width": 8,
        "epochs": 8,
        "batch_size": 128,
        "gradient_norm_depth": 56,
    },
    "fast": {
        "task": {
            "name": "synthetic",
            "image_size": 16,
            "patterns_per_class": 4,
            "noise": 80.0,
            "train_images": 256,
            "val_images": 64,
            "test_images": 64,
        },
        "depths": (8, 14),
        "width": 4,
        "epochs": 2,
        "batch_size": 64,
        "gradient_norm_depth": 20,
    },
    "gpu": {
        "task": {"name": "cifar10", "val_images": 5000},
        "depths": (20, 56),
        "width": 16,
        "epochs": 40,
        "batch_size": 128,
        "gradient_norm_depth": 56,
    },
}


# --- data and models ------------------------------------------------------------------------------------------


@cache
def _load(task_items):
    task = dict(task_items)
    if task["name"] == "cifar10":
        data = load_cifar10()
    else:
        data = synthetic_cifar10(
            task["train_images"] + task["val_images"],
            task["test_images"],
            noise=task["noise"],
            image_size=task["image_size"],
            patterns_per_class=task["patterns_per_class"],
        )
    return split_validation(data, size=task["val_images"])


def load_task(task):
    """``{"x", "y", "x_val", "y_val", "x_test", "y_test"}`` of a task of SIZES (cached: read-only)."""
    return _load(tuple(sorted(task.items())))


def reference_network(n, residual=True, width=16):
    """The reference's ResNet-(6n + 2), or plain net, with stages of width·(1, 2, 4) channels."""
    return CifarResNet(6 * n + 2, residual=residual, width=width)


def build(kind, depth, width, build_network=reference_network):
    """A freshly initialized net of `kind` (a key of KINDS) and `depth` = 6n + 2."""
    if kind == "preact":
        return CifarResNet(depth, preactivation=True, width=width)
    return build_network((depth - 2) // 6, residual=kind == "ResNet", width=width)


def without_batch_norm(model):
    """`model` with every BatchNorm2d replaced by the identity, in place (the ablation); returns it."""
    for name, child in model.named_children():
        setattr(model, name, nn.Identity() if isinstance(child, nn.BatchNorm2d) else without_batch_norm(child))
    return model


# --- one training run -----------------------------------------------------------------------------------------


def train_run(settings, build_network=reference_network, device=None):
    """Train one net as `settings` say: ``{"task", "kind", "depth", "width", "batch_norm", "epochs", "batch_size",
    "seed"}`` (`seed` fixes the initialization, the batch order and the augmentation).

    Returns the last epoch's ``train_error`` (on the augmented minibatches of that epoch, as He et al.'s thin
    curves), ``val_error`` and ``test_error`` (None for all three when the loss became NaN: ``diverged``),
    ``curve`` (the training error of each epoch) and ``seconds`` of training. On a CPU it trains on one thread,
    so that a run gives the same numbers in a notebook and in a recording with several workers.
    """
    with one_thread():
        torch.manual_seed(settings["seed"])
        model = build(settings["kind"], settings["depth"], settings["width"], build_network)
        if not settings["batch_norm"]:
            model = without_batch_norm(model)
        data = load_task(settings["task"])
        recipe = paper_recipe(
            settings["depth"], len(data["x"]), batch_size=settings["batch_size"], epochs=settings["epochs"]
        )
        summary = train(model, data, recipe, TrainConfig(seed=settings["seed"], device=device, progress=False))
    history, diverged = summary["history"], summary["diverged"]
    last = history[-1]
    return {
        **{f"{split}_error": None if diverged else 1 - last[f"{split}_accuracy"] for split in ("train", "val", "test")},
        "diverged": diverged,
        "curve": [1 - row["train_accuracy"] for row in history],
        "seconds": sum(row["seconds"] for row in history),
    }


# --- gradient norms at initialization -------------------------------------------------------------------------


def convolution_gradient_norms(model, images, labels):
    """‖∇W‖ of each convolution, input to output, after one backward pass of the cross-entropy (train mode)."""
    norms = layer_gradient_norms(model.train(), images, labels, F.cross_entropy)
    convolutions = {name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)}
    return [norm for name, norm in norms.items() if name in convolutions]


def gradient_norms(depth, width, task, seeds, build_network=reference_network, device=None):
    """Each kind's per-convolution gradient norms at initialization, on the first GRADIENT_BATCH training images.

    Returns ``{kind: {"profile", "first_over_last"}}``: the geometric mean over seeds of each convolution's norm,
    and the summary over seeds of the ratio of the first convolution's norm to the last one's.
    """
    data = load_task(task)
    images = normalize(torch.as_tensor(data["x"][:GRADIENT_BATCH]).to(device))
    labels = torch.as_tensor(data["y"][:GRADIENT_BATCH]).to(device)
    found = {}
    for kind in KINDS:
        per_seed = []
        for seed in seeds:
            torch.manual_seed(seed)
            per_seed.append(
                convolution_gradient_norms(build(kind, depth, width, build_network).to(device), images, labels)
            )
        per_seed = np.array(per_seed)
        found[kind] = {
            "profile": np.exp(np.log(per_seed).mean(axis=0)).tolist(),
            "first_over_last": summarize(per_seed[:, 0] / per_seed[:, -1]),
        }
    return found


# --- the whole experiment -------------------------------------------------------------------------------------


def compare_depths(train_one, sizes, seeds=SEEDS, run_all=None, gradients=gradient_norms):
    """The whole experiment at `sizes` (one of SIZES): ``{"settings", "results", "runs"}``, JSON-able.

    `train_one(settings)` trains one run (`train_run` with the builder and device of your choice); `run_all(train,
    list)` runs a list of them (course.results.run_all, with a cache when recording); `gradients(depth, width,
    task, seeds)` measures the gradient norms (`gradient_norms` with the same builder and device). ``results``:
    - ``degradation[kind][depth]``: ``train_error``, ``val_error``, ``test_error`` over seeds and each seed's
      ``curves``;
    - ``deeper[kind]``: the deeper net's training and validation error against the shallower one's: the
      difference (deeper minus shallower), Welch's p-value, whether it is within the seed noise;
    - ``residual[depth][kind]``: each ResNet's training error against the plain net's (ResNet minus plain);
    - ``preact_against_original[depth]``: the pre-activation ResNet's training error against the original
      block's (pre-activation minus original);
    - ``without_batch_norm[kind]``: at the deeper depth, the same numbers with every batch norm removed, how many
      seeds ``diverged`` and ``finished_train_error``, the training error over the seeds that did not;
    - ``gradient_norms[kind]``: see `gradient_norms` (at sizes["gradient_norm_depth"]).
    """
    if run_all is None:
        from course.results import run_all
    seeds, depths, deepest = list(seeds), sizes["depths"], sizes["depths"][-1]

    def runs(kind, depth, batch_norm=True):
        shared = {key: sizes[key] for key in ("task", "width", "epochs", "batch_size")}
        return [{**shared, "kind": kind, "depth": depth, "batch_norm": batch_norm, "seed": seed} for seed in seeds]

    groups = {(kind, depth): runs(kind, depth) for kind in KINDS for depth in depths}
    groups.update({(kind, "without_batch_norm"): runs(kind, deepest, batch_norm=False) for kind in ABLATED_KINDS})
    done = run_groups(run_all, train_one, groups)

    def summaries(results):
        return {
            **{
                key: summarize([result[key] for result in results])
                for key in ("train_error", "val_error", "test_error")
            },
            "finished_train_error": summarize([result["train_error"] for result in results if not result["diverged"]]),
            "curves": [result["curve"] for result in results],
            "diverged": sum(result["diverged"] for result in results),
        }

    degradation = {kind: {str(depth): summaries(done[kind, depth]) for depth in depths} for kind in KINDS}
    shallow, deep = (str(depth) for depth in depths)
    results = {
        "degradation": degradation,
        "deeper": {
            kind: {
                key: compare(degradation[kind][shallow][key], degradation[kind][deep][key])
                for key in ("train_error", "val_error")
            }
            for kind in KINDS
        },
        "residual": {
            str(depth): {
                kind: compare(
                    degradation["plain"][str(depth)]["train_error"], degradation[kind][str(depth)]["train_error"]
                )
                for kind in ("ResNet", "preact")
            }
            for depth in depths
        },
        "preact_against_original": {
            str(depth): compare(
                degradation["ResNet"][str(depth)]["train_error"], degradation["preact"][str(depth)]["train_error"]
            )
            for depth in depths
        },
        "without_batch_norm": {kind: summaries(done[kind, "without_batch_norm"]) for kind in ABLATED_KINDS},
        "gradient_norms": gradients(sizes["gradient_norm_depth"], sizes["width"], sizes["task"], seeds),
    }
    settings = {
        **sizes,
        "depths": list(depths),
        "seeds": seeds,
        "kinds": KINDS,
        "recipe": "He et al. 2016: SGD, momentum 0.9, weight decay 1e-4, lr 0.1 ÷10 at 1/2 and 3/4 of the run",
        "reported_at": "the last epoch, fixed in advance",
        "batch_norm_ablation_depth": deepest,
    }
    return {"settings": settings, "results": results, "runs": every_run(groups, done)}


def reference_runs(run_all):
    """The CPU-scale experiment with the reference nets, as results/08_capstone_resnet_depth.json records it."""
    return compare_depths(train_run, SIZES["cpu"], SEEDS, run_all)
