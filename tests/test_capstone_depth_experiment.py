"""Lesson 08's experiment (course/experiments/capstone_depth.py): the builder passed in is what trains, the
batch-norm ablation removes every batch norm, the comparisons have the documented sign and layout, and the record
holds the CPU-scale size that the lesson quotes."""

import numpy as np
import pytest
import torch
from torch import nn

from capstone.cifar10 import synthetic_cifar10
from course.experiments import capstone_depth
from course.experiments.capstone_depth import (
    ABLATED_KINDS,
    KINDS,
    SIZES,
    build,
    compare_depths,
    gradient_norms,
    reference_network,
    train_run,
    without_batch_norm,
)
from course.results import RESULTS_DIR, recorded

# One epoch of two steps on 64 generated 16x16 images: about a second a run.
TINY = {
    "task": {
        "name": "synthetic",
        "image_size": 16,
        "patterns_per_class": 4,
        "noise": 80.0,
        "train_images": 64,
        "val_images": 32,
        "test_images": 32,
    },
    "depths": (8, 14),
    "width": 2,
    "epochs": 1,
    "batch_size": 32,
    "gradient_norm_depth": 14,
}
RUN = {**{key: TINY[key] for key in ("task", "width", "epochs", "batch_size")}, "depth": 8, "batch_norm": True}


def test_a_run_reports_its_last_epoch_and_reproduces():
    result = train_run({**RUN, "kind": "plain", "seed": 0})
    assert set(result) == {"train_error", "val_error", "test_error", "diverged", "curve", "seconds"}
    assert not result["diverged"] and len(result["curve"]) == TINY["epochs"]
    assert result["curve"][-1] == result["train_error"] and 0 <= result["val_error"] <= 1
    again = train_run({**RUN, "kind": "plain", "seed": 0})
    assert {key: again[key] for key in ("train_error", "val_error", "test_error")} == {
        key: result[key] for key in ("train_error", "val_error", "test_error")
    }


def test_the_builder_passed_in_builds_the_plain_nets_and_resnets_and_the_reference_the_preactivation_ones():
    built = []

    def counting_builder(n, residual=True, width=16):
        built.append((n, residual, width))
        return reference_network(n, residual, width)

    for kind in KINDS:
        train_run({**RUN, "kind": kind, "seed": 0}, build_network=counting_builder)
    assert built == [(1, False, 2), (1, True, 2)]

    def broken_builder(n, residual=True, width=16):
        raise RuntimeError("the student's network")

    with pytest.raises(RuntimeError, match="the student's network"):
        train_run({**RUN, "kind": "ResNet", "seed": 0}, build_network=broken_builder)


def test_without_batch_norm_removes_every_batch_norm_and_keeps_the_rest():
    for kind in KINDS:
        model = build(kind, 14, width=2)
        convolutions = sum(isinstance(module, nn.Conv2d) for module in model.modules())
        ablated = without_batch_norm(model)
        assert not any(isinstance(module, nn.BatchNorm2d) for module in ablated.modules())
        assert sum(isinstance(module, nn.Conv2d) for module in ablated.modules()) == convolutions
        assert ablated(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_gradient_norms_cover_every_convolution_input_to_output():
    found = gradient_norms(14, 2, TINY["task"], seeds=[0, 1])
    assert set(found) == set(KINDS)
    for kind in KINDS:
        assert len(found[kind]["profile"]) == 1 + 2 * 3 * 2  # stem, and two per block of 3 stages × n = 2
        assert all(norm > 0 for norm in found[kind]["profile"])
        assert found[kind]["first_over_last"]["mean"] > 0


class TableTrain:
    """Training error from a table by (kind, depth, batch norm), plus a little per seed; records what it trains."""

    ERRORS = {"plain": {8: 0.3, 14: 0.6}, "ResNet": {8: 0.3, 14: 0.25}, "preact": {8: 0.3, 14: 0.2}}

    def __init__(self):
        self.trained = []

    def __call__(self, settings):
        self.trained.append(settings)
        error = self.ERRORS[settings["kind"]][settings["depth"]] + 0.01 * settings["seed"]
        if not settings["batch_norm"]:
            error += 0.1
        return {
            "train_error": error,
            "val_error": error + 0.05,
            "test_error": error + 0.06,
            "diverged": False,
            "curve": [0.9, error],
            "seconds": 1.0,
        }


def test_the_experiment_compares_deeper_with_shallower_and_ablates_at_the_deeper_depth():
    train = TableTrain()
    outcome = compare_depths(train, TINY, seeds=[0, 1, 2], gradients=lambda *args: {"measured": args})
    results = outcome["results"]
    assert len(train.trained) == len(outcome["runs"]) == len(KINDS) * 2 * 3 + len(ABLATED_KINDS) * 3
    ablated = [settings for settings in train.trained if not settings["batch_norm"]]
    assert {(settings["kind"], settings["depth"]) for settings in ablated} == {(kind, 14) for kind in ABLATED_KINDS}
    assert results["degradation"]["plain"]["14"]["train_error"]["mean"] == pytest.approx(0.61)
    assert results["deeper"]["plain"]["train_error"]["difference"] == pytest.approx(0.3)  # deeper minus shallower
    assert results["deeper"]["ResNet"]["train_error"]["difference"] == pytest.approx(-0.05)
    assert results["residual"]["14"]["ResNet"]["difference"] == pytest.approx(-0.35)  # ResNet minus plain
    assert results["without_batch_norm"]["plain"]["train_error"]["mean"] == pytest.approx(0.71)
    assert results["gradient_norms"] == {"measured": (14, 2, TINY["task"], [0, 1, 2])}
    assert outcome["settings"]["seeds"] == [0, 1, 2] and outcome["settings"]["batch_norm_ablation_depth"] == 14


def test_the_harder_generated_task_keeps_the_stand_ins_format():
    data = synthetic_cifar10(train_size=400, test_size=40, seed=1, image_size=16, patterns_per_class=4)
    assert data["x"].shape == (400, 3, 16, 16) and data["x"].dtype == np.uint8 and data["x_test"].shape[0] == 40
    assert set(np.unique(data["y"])) == set(range(10))
    # Without noise an image is its pattern: four distinct images per class.
    clean = synthetic_cifar10(train_size=400, test_size=0, noise=0.0, image_size=16, patterns_per_class=4)
    for label in range(10):
        assert len(np.unique(clean["x"][clean["y"] == label].reshape(-1, 3 * 16 * 16), axis=0)) == 4
    # One pattern a class, 32x32: the original stand-in, draw for draw.
    assert all(
        np.array_equal(a, b)
        for a, b in zip(
            synthetic_cifar10(50, 20, seed=2).values(), synthetic_cifar10(50, 20, seed=2, patterns_per_class=1).values()
        )
    )


@pytest.mark.skipif(
    not (RESULTS_DIR / "08_capstone_resnet_depth.json").is_file(), reason="lesson 08's runs are not recorded"
)
def test_the_record_is_the_cpu_scale_experiment():
    record = recorded("08_capstone_resnet_depth")
    settings = record["settings"]
    assert settings["task"] == SIZES["cpu"]["task"] and settings["depths"] == list(SIZES["cpu"]["depths"])
    assert settings["seeds"] == list(capstone_depth.SEEDS) and len(settings["seeds"]) >= 3
    assert set(record["results"]["degradation"]) == set(KINDS)
    assert len(record["runs"]) == len(KINDS) * 2 * len(settings["seeds"]) + len(ABLATED_KINDS) * len(settings["seeds"])
