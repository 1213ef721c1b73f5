"""The capstones' helpers: the synthetic CIFAR-10 stand-in and the open training loop."""
import numpy as np
import torch

from reference_impl.clipping import clip_grad_norm
from capstone.cifar10 import split_validation, synthetic_cifar10
from reference_impl.models import build_model
from capstone.loop import train_model


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


def test_train_model_learns_the_synthetic_data_and_reports_timing():
    torch.manual_seed(0)
    data = split_validation(synthetic_cifar10(train_size=320, test_size=64, seed=0), size=64)
    model = build_model("resnet8")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    result = train_model(model, optimizer, data, epochs=3, batch_size=32, lr_at=lambda step: 0.05,
                         clip=lambda parameters: clip_grad_norm(parameters, 5.0), device="cpu")
    history = result["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3] and history[-1]["step"] == 3 * 8
    assert history[-1]["lr"] == 0.05 and not result["diverged"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["train_accuracy"] > 0.3  # chance is 0.1
    assert 0 <= history[-1]["val_accuracy"] <= 1 and 0 <= history[-1]["test_accuracy"] <= 1
    assert all(row["seconds"] > 0 and row["gradient_norm"] > 0 for row in history)
    assert result["data_to_device_seconds"] >= 0
