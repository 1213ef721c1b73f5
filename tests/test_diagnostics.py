"""reference_impl.diagnostics against autograd; lesson 00's checks catch its known mistakes."""
import re

import numpy as np
import pytest
import torch
from torch import nn

from autograder import checks
from autograder.mistakes import landscape as mistakes
from reference_impl import diagnostics, landscapes
from reference_impl.models import MLP
from reference_impl.optim import sgd


def autograd_layer_norms(model, inputs, targets, loss_fn):
    """Per-layer norms from torch.autograd.grad, without touching .grad."""
    layers = diagnostics.layers_with_parameters(model)
    parameters = [list(layer.parameters(recurse=False)) for _, layer in layers]
    flat = [p for group in parameters for p in group]
    grads = iter(torch.autograd.grad(loss_fn(model(inputs), targets), flat, allow_unused=True))
    norms = {}
    for (name, _), group in zip(layers, parameters):
        squares = [0.0 if g is None else float(g.double().square().sum()) for g in (next(grads) for _ in group)]
        norms[name] = float(np.sqrt(sum(squares)))
    return norms


def stale_model(widths, activation=nn.Tanh, seed=0):
    """A seeded MLP whose .grad already holds an earlier batch's gradients."""
    torch.manual_seed(seed)
    model = MLP(widths, activation=activation).double()
    model(torch.randn(4, widths[0], dtype=torch.float64)).square().sum().backward()
    return model


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh, nn.ReLU])
@pytest.mark.parametrize("widths", [(5, 3), (8, 6, 6, 6, 4), (10, 16, 16, 16, 16, 16, 16, 3)])
def test_layer_gradient_norms_match_autograd(widths, activation):
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(7, widths[0], generator=generator, dtype=torch.float64)
    targets = torch.randint(0, widths[-1], (7,), generator=generator)
    model = stale_model(widths, activation)
    expected = autograd_layer_norms(model, inputs, targets, nn.functional.cross_entropy)
    norms = diagnostics.layer_gradient_norms(model, inputs, targets, nn.functional.cross_entropy)
    assert list(norms) == [name for name, module in model.named_children() if isinstance(module, nn.Linear)]
    assert norms == pytest.approx(expected, rel=1e-10)


class HalfUsed(nn.Module):
    """Two layers, only the first of which the output depends on."""

    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Linear(3, 1), nn.Linear(3, 1)

    def forward(self, inputs):
        return self.used(inputs)


def test_a_layer_the_loss_does_not_reach_has_norm_zero():
    norms = diagnostics.layer_gradient_norms(HalfUsed(), torch.ones(2, 3), torch.zeros(2, 1), nn.functional.mse_loss)
    assert norms["unused"] == 0.0 and norms["used"] > 0


@pytest.mark.parametrize("seed", range(5))
def test_largest_stable_lr_separates_convergence_from_divergence(seed):
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    hessian = basis @ np.diag(10 ** rng.uniform(-1, 1, size=3)) @ basis.T
    lr = diagnostics.largest_stable_lr(hessian)
    for factor, converges in [(0.98, True), (1.02, False)]:
        point = rng.normal(size=3)
        for _ in range(3000):
            point = sgd.gd_step(point, hessian @ point, factor * lr)
        assert (np.linalg.norm(point) < 1e-3) == converges


# --- the lesson's hidden tests catch each known wrong answer and name it --------------------------------
# Drawn the way the hidden tests in solutions/00_landscape draw theirs.

@pytest.mark.parametrize("description", list(mistakes.GD_ON_SURFACE))
def test_gd_on_surface_mistake_is_caught_and_named(description):
    with pytest.raises(AssertionError, match=f"That is what you get if you {re.escape(description)}"):
        checks.check_function(mistakes.GD_ON_SURFACE[description], landscapes.gradient_descent_path,
                              args=(landscapes.rosenbrock(), (-1.2, 1.0), 1e-4, 20), mistakes=mistakes.GD_ON_SURFACE)


@pytest.mark.parametrize("description", list(mistakes.LAYER_GRADIENT_NORMS))
def test_layer_gradient_norms_mistake_is_caught_and_named(description):
    generator = torch.Generator().manual_seed(3)
    inputs = torch.randn(6, 8, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 4, (6,), generator=generator)
    make_args = lambda: (stale_model((8, 6, 6, 4)), inputs, targets, nn.functional.cross_entropy)  # noqa: E731
    with pytest.raises(AssertionError, match=f"That is what you get if you {re.escape(description)}"):
        checks.check_in_place(mistakes.LAYER_GRADIENT_NORMS[description], diagnostics.layer_gradient_norms,
                              make_args, observe=lambda args: {}, mistakes=mistakes.LAYER_GRADIENT_NORMS)


@pytest.mark.parametrize("description", list(mistakes.LARGEST_STABLE_LR))
def test_largest_stable_lr_mistake_is_caught_and_named(description):
    hessian = np.array([[3.0, 1.0], [1.0, 2.0]])
    with pytest.raises(AssertionError, match=f"That is what you get if you {re.escape(description)}"):
        checks.check_function(mistakes.LARGEST_STABLE_LR[description], diagnostics.largest_stable_lr,
                              args=(hessian,), mistakes=mistakes.LARGEST_STABLE_LR)
