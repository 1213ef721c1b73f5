"""The capstones' helpers and the trainer as the notebooks use it: the synthetic CIFAR-10 stand-in, and the
student's own optimizer, lr function and clipping (lessons 01-05) plugged into the one training loop."""

import json
from functools import partial

import numpy as np
import pytest
import torch
from test_train_resnet import three_step_run

from capstone.__main__ import main as command_line
from capstone.cifar10 import load_cifar10, split_validation, synthetic_cifar10
from capstone.recipes import RECIPES, Recipe
from capstone.trainer import TrainConfig, Trainer, train
from reference_impl.clipping import clip_grad_norm
from reference_impl.models import build_model
from test_cifar10 import write_cifar10_like

QUIET_CPU = TrainConfig(device="cpu", progress=False)


def test_synthetic_cifar10_has_cifar_shapes_and_is_reproducible():
    data = synthetic_cifar10(train_size=100, test_size=40, seed=3)
    assert data["x"].shape == (100, 3, 32, 32) and data["x"].dtype == np.uint8
    assert data["x_test"].shape == (40, 3, 32, 32) and data["y_test"].dtype == np.int64
    assert set(np.unique(data["y"])) <= set(range(10))
    again = synthetic_cifar10(train_size=100, test_size=40, seed=3)
    assert all(np.array_equal(data[key], again[key]) for key in data)


def test_synthetic_labels_are_a_function_of_the_images():
    # The nearest class mean (from the training set) classifies the test set almost perfectly.
    data = synthetic_cifar10(train_size=1000, test_size=200, seed=0)
    means = np.stack([data["x"][data["y"] == c].reshape(-1, 3072).mean(0) for c in range(10)])
    distances = ((data["x_test"].reshape(-1, 1, 3072).astype(float) - means) ** 2).sum(-1)
    assert (distances.argmin(1) == data["y_test"]).mean() > 0.95


def test_train_learns_the_synthetic_data_and_reports_timing():
    torch.manual_seed(0)
    data = split_validation(synthetic_cifar10(train_size=320, test_size=64, seed=0), size=64)
    model = build_model("resnet8")
    recipe = Recipe(
        partial(torch.optim.SGD, lr=0.1, momentum=0.9),
        lr_at=lambda step: 0.05,
        batch_size=32,
        steps=3 * 8,
        clip=lambda parameters: clip_grad_norm(parameters, 5.0),
    )
    result = train(model, data, recipe, QUIET_CPU)
    history = result["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3] and history[-1]["step"] == 3 * 8
    assert history[-1]["lr"] == 0.05 and not result["diverged"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["train_accuracy"] > 0.3  # chance is 0.1
    assert 0 <= history[-1]["val_accuracy"] <= 1 and 0 <= history[-1]["test_accuracy"] <= 1
    assert all(row["seconds"] > 0 and row["gradient_norm"] > 0 for row in history)
    assert result["data_to_device_seconds"] >= 0
    assert [row["warm_up"] for row in history] == [True, False, False]  # the first epoch pays the one-time costs


class StudentMomentumSGD(torch.optim.Optimizer):
    """Heavy-ball SGD written in Python as in lesson 01, noting before each step the lr and momentum it was given
    and the total gradient norm it found."""

    def __init__(self, parameters, lr=0.0, momentum=0.0):
        super().__init__(parameters, {"lr": lr, "momentum": momentum})
        self.seen = []

    @torch.no_grad()
    def step(self):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(grad) for grad in grads]))
        self.seen.append((self.param_groups[0]["lr"], self.param_groups[0]["momentum"], norm.item()))
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    buffer = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                    p.add_(buffer.mul_(group["momentum"]).add_(p.grad), alpha=-group["lr"])


def test_the_students_optimizer_schedule_and_clipping_drive_every_step():
    data = synthetic_cifar10(train_size=128, test_size=32, seed=1)
    made, returned_norms = [], []

    def make_optimizer(parameters):
        made.append(StudentMomentumSGD(parameters))
        return made[-1]

    def clip(parameters):
        returned_norms.append(clip_grad_norm(parameters, 0.5))
        return returned_norms[-1]

    lr_at, momentum_at = (lambda step: 0.01 + 0.001 * step), (lambda step: 0.9 - 0.01 * step)
    torch.manual_seed(0)
    model = build_model("plain8")
    recipe = Recipe(make_optimizer, lr_at, batch_size=32, steps=2 * 4, momentum_at=momentum_at, clip=clip)
    result = train(model, data, recipe, QUIET_CPU)

    [optimizer] = made
    assert {id(p) for group in optimizer.param_groups for p in group["params"]} == {id(p) for p in model.parameters()}
    lrs, momenta, norms_at_step = zip(*optimizer.seen)
    assert list(lrs) == [lr_at(step) for step in range(8)] and list(momenta) == [momentum_at(step) for step in range(8)]
    # Clipped once per step, after the backward pass and before the optimizer's step.
    assert len(returned_norms) == 8 and all(norm <= 0.5 + 1e-5 for norm in norms_at_step)
    assert any(float(norm) > 0.5 for norm in returned_norms), "the test should exercise clipping"
    for epoch, row in enumerate(result["history"]):
        norms = torch.stack(returned_norms[4 * epoch : 4 * (epoch + 1)])
        assert row["gradient_norm"] == pytest.approx(norms.mean().item())
        assert row["gradient_norm_max"] == pytest.approx(norms.max().item())


def test_momentum_schedule_sets_adams_beta1():
    torch.manual_seed(0)
    recipe = Recipe(
        partial(torch.optim.AdamW, lr=1e-3), lambda step: 1e-3, batch_size=32, steps=4, momentum_at=lambda step: 0.5
    )
    trainer = Trainer(build_model("resnet8"), synthetic_cifar10(train_size=128, test_size=32), recipe, QUIET_CPU)
    trainer.run()
    assert [group["betas"] for group in trainer.optimizer.param_groups] == [(0.5, 0.999)]


def test_a_diverging_run_stops_and_is_reported_not_raised():
    # As notebook 08's batch-norm ablation: a run whose loss becomes NaN is a result to count, with its history.
    data = synthetic_cifar10(train_size=128, test_size=32, seed=2)
    torch.manual_seed(0)
    recipe = Recipe(
        partial(torch.optim.SGD, lr=0.1), lambda step: float("nan") if step >= 2 else 0.1, batch_size=32, steps=3 * 4
    )
    with pytest.warns(RuntimeWarning, match="NaN or infinite at step 4 .*lower the learning rate"):
        result = train(build_model("plain8"), data, recipe, QUIET_CPU)
    assert result["diverged"] and result["step"] == 4
    [row] = result["history"]
    assert row["diverged_at_step"] == 4 and not np.isfinite(row["train_loss"]) and 0 <= row["test_accuracy"] <= 1


def test_exact_resume_with_an_injected_optimizer_schedule_and_clipping(tmp_path):
    data = synthetic_cifar10(train_size=128, test_size=32, seed=3)
    recipe = Recipe(
        partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.05),
        lambda step: 1e-3 / (1 + step),
        batch_size=32,
        steps=3 * 4,
        momentum_at=lambda step: 0.9 - 0.02 * step,
        clip=lambda parameters: clip_grad_norm(parameters, 1.0),
    )

    def trainer(seed):
        torch.manual_seed(seed)
        return Trainer(build_model("resnet8"), data, recipe, TrainConfig(device="cpu", progress=False, seed=seed))

    uninterrupted = trainer(0)
    uninterrupted.run()
    first_part = trainer(0)
    first_part.train_epoch()
    first_part.save_checkpoint(tmp_path / "checkpoint.pt")
    resumed = trainer(1)
    resumed.load_checkpoint(tmp_path / "checkpoint.pt")
    resumed.run()
    for (name, expected), actual in zip(uninterrupted.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(expected, actual), name
    assert [row["gradient_norm"] for row in resumed.history] == [row["gradient_norm"] for row in uninterrupted.history]


def test_the_command_line_trains_exactly_as_a_call_of_train(tmp_path):
    write_cifar10_like(tmp_path, images_per_batch=20)
    assert command_line(three_step_run(tmp_path, tmp_path / "run", "--device", "cpu")) == 0
    from_command_line = json.loads((tmp_path / "run" / "results.json").read_text())

    data = load_cifar10(tmp_path)
    torch.manual_seed(0)
    model = build_model("resnet8")
    result = train(model, data, RECIPES["fast"](8, len(data["x"]), batch_size=32, steps=3), QUIET_CPU)
    assert from_command_line["config"]["model"] == "resnet8" and from_command_line["total_steps"] == 3
    for key in ("step", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert [row[key] for row in from_command_line["history"]] == [row[key] for row in result["history"]], key
