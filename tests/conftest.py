"""Shared test settings and fixtures."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import settings

from course.data import load_mnist1d
from reference_impl.models import MLP

# The tests' models are tiny: extra intra-op threads only spin against each other and against
# pytest-xdist's workers on a 2-core machine (a 200-step MLP run went from 0.1 s to 15 s under load).
torch.set_num_threads(1)

# Property tests draw the same examples on every run and machine (no flaky CI), without deadlines
# (the first torch call in a process is slow), and keep no example database in the work tree.
settings.register_profile("course", derandomize=True, deadline=None, database=None, max_examples=25)
settings.load_profile("course")


def pytest_configure(config):
    """Generate MNIST-1D into the course cache once, before pytest-xdist starts its workers: the views and
    notebooks then read it, instead of each worker generating it at its first use."""
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist), not a worker
        load_mnist1d()


@pytest.fixture
def mnist1d_like():
    """Random data shaped like MNIST-1D (40 features, 10 classes), small and learnable.

    Labels come from a fixed random linear teacher, so a model that learns sees its loss fall.
    """
    rng = np.random.default_rng(1234)
    teacher = rng.standard_normal((40, 10))
    x = rng.standard_normal((512, 40)).astype(np.float32)
    x_val, x_test = (rng.standard_normal((128, 40)).astype(np.float32) for _ in range(2))
    return {
        "x": x,
        "y": (x @ teacher).argmax(1),
        "x_val": x_val,
        "y_val": (x_val @ teacher).argmax(1),
        "x_test": x_test,
        "y_test": (x_test @ teacher).argmax(1),
    }


@pytest.fixture
def full_batch_losses(mnist1d_like):
    """`run(make_optimizer)`: the losses of 100 full-batch steps of a small MLP on `mnist1d_like`,
    trained by ``make_optimizer(model.parameters())`` from a fixed initialization."""

    def run(make_optimizer, steps=100):
        torch.manual_seed(0)
        model = MLP((40, 32, 10))
        optimizer = make_optimizer(model.parameters())
        x, y = torch.from_numpy(mnist1d_like["x"]), torch.from_numpy(mnist1d_like["y"])
        losses = []
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    return run
