"""reference_impl.diagnostics against autograd. Lesson 00's graded cells against its known mistakes:
test_lesson_mistakes.py."""

import numpy as np
import pytest
import torch
from torch import nn

from reference_impl import diagnostics
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
