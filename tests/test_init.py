"""Initializers: exact fans, gains and std formulas, torch.nn.init's variances (statistical tests with
tolerances from the sampling distribution, fixed seeds) and residual models. Lesson 07's graded cells
against its known mistakes: test_lesson_mistakes.py."""

import math

import pytest
import torch
from torch import nn

from autograder import checks
from reference_impl import diagnostics, init
from reference_impl.models import DeepMLP, PlainBlock, ResidualBlock

SHAPES = [(1, 1), (5, 3), (256, 512), (64, 32, 3), (16, 8, 3, 3), (4, 2, 3, 5, 2)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    assert init.fan_in_and_fan_out(shape) == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fan_in_and_fan_out((5,))


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ],
)
def test_gains_match_torch(nonlinearity, param):
    assert init.gain(nonlinearity, param) == pytest.approx(nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


def test_std_formulas_and_uniform_bound_exactly():
    shape = (16, 8, 3, 3)  # fan_in 72, fan_out 144
    assert init.xavier_std(shape, 2.0) == pytest.approx(2.0 * math.sqrt(2 / 216), rel=1e-15)
    assert init.he_std(shape) == pytest.approx(math.sqrt(2 / 72), rel=1e-15)
    assert init.he_std(shape, 1.0, "fan_out") == pytest.approx(1 / 12, rel=1e-15)
    assert init.uniform_bound(0.5) == pytest.approx(0.5 * math.sqrt(3), rel=1e-15)
    with pytest.raises(ValueError, match="mode"):
        init.he_std(shape, mode="fan_avg")


def sample_variance_matches(weight, variance, kurtosis):
    return abs(float(weight.detach().double().var()) - variance) <= checks.sample_variance_tolerance(
        weight.numel(), variance, kurtosis
    )


PAIRS = [  # (ours, torch's, kwargs, kurtosis)
    (init.xavier_uniform, nn.init.xavier_uniform_, {"gain": 5 / 3}, 9 / 5),
    (init.xavier_normal, nn.init.xavier_normal_, {"gain": 1.0}, 3.0),
    (init.kaiming_uniform, nn.init.kaiming_uniform_, {"a": 0.0, "mode": "fan_in", "nonlinearity": "relu"}, 9 / 5),
    (init.kaiming_normal, nn.init.kaiming_normal_, {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"}, 3.0),
    (init.kaiming_uniform, nn.init.kaiming_uniform_, {}, 9 / 5),  # both libraries' defaults
]


@pytest.mark.parametrize("ours, theirs, kwargs, kurtosis", PAIRS)
@pytest.mark.parametrize("shape", [(400, 500), (128, 64, 5, 5)])
def test_initializers_have_torch_variance(ours, theirs, kwargs, kurtosis, shape):
    torch.manual_seed(0)
    torch_weight = theirs(torch.empty(shape, dtype=torch.float64), **kwargs)
    our_weight = ours(shape, generator=torch.Generator().manual_seed(1), **kwargs)
    # The variance torch's formula implies (exact), and both samples within 5 standard errors of it.
    if theirs in (nn.init.xavier_uniform_, nn.init.xavier_normal_):
        variance = init.xavier_std(shape, kwargs["gain"]) ** 2
    else:
        gain = init.gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0.0))
        variance = init.he_std(shape, gain, kwargs.get("mode", "fan_in")) ** 2
    assert sample_variance_matches(torch_weight, variance, kurtosis)
    assert sample_variance_matches(our_weight, variance, kurtosis)
    if kurtosis == 9 / 5:  # uniform: torch's and our largest weights reach the same bound
        bound = math.sqrt(3 * variance)
        assert float(our_weight.abs().max()) <= bound
        assert float(torch_weight.abs().max()) <= bound * (1 + 1e-12)
        assert float(our_weight.abs().max()) > bound * (1 - 1e-4)


def test_initialize_is_reproducible_float32_and_rejects_unknown_distributions():
    first = init.initialize((3, 4), 1.0, "uniform", torch.Generator().manual_seed(0))
    assert first.dtype == torch.float32
    assert torch.equal(first, init.initialize((3, 4), 1.0, "uniform", torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="distribution"):
        init.initialize((3, 4), 1.0, "laplace")


def test_init_weights_sets_he_or_xavier_and_zero_biases():
    model = nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Conv1d(30, 200, 5))
    init.init_weights_(model, "he")
    assert sample_variance_matches(model[0].weight, 2 / 400, 3.0)
    assert sample_variance_matches(model[2].weight, 2 / 150, 3.0)
    assert all(int(torch.count_nonzero(m.bias)) == 0 for m in (model[0], model[2]))
    init.init_weights_(model, "xavier")
    assert sample_variance_matches(model[0].weight, 2 / 700, 3.0)
    before = model[0].weight.clone()
    assert torch.equal(init.init_weights_(model, "default")[0].weight, before)
    with pytest.raises(ValueError, match="scheme"):
        init.init_weights_(model, "orthogonal")


def test_residual_block_adds_the_scaled_branch_before_the_activation():
    torch.manual_seed(0)
    block = ResidualBlock(5, nn.Tanh, branch_scale=0.3)
    x = torch.randn(4, 5)
    torch.testing.assert_close(block(x), torch.tanh(x + 0.3 * block.linear2(torch.tanh(block.linear1(x)))))
    plain = PlainBlock(5, nn.Tanh)
    plain.load_state_dict({k: v for k, v in block.state_dict().items()})
    torch.testing.assert_close(plain(x), torch.tanh(block.linear2(torch.tanh(block.linear1(x)))))


def test_deep_mlps_differ_only_by_the_skip_connections():
    plain, residual = DeepMLP(10, 16, residual=False), DeepMLP(10, 16, residual=True)
    assert plain.state_dict().keys() == residual.state_dict().keys()
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in residual.parameters())
    assert residual[2].branch_scale == pytest.approx(1 / math.sqrt(5))
    assert plain(torch.randn(3, 40)).shape == (3, 10)
    with pytest.raises(ValueError, match="even"):
        DeepMLP(7)


def test_residual_net_keeps_gradients_alive_where_the_plain_net_loses_them():
    # Depth 40, PyTorch's default init (variance 1/(3·fan_in)): the plain net's first-layer gradient
    # vanishes by orders of magnitude, the residual net's does not.
    x, y = torch.randn(64, 40, generator=torch.Generator().manual_seed(0)), torch.randint(0, 10, (64,))
    first_layer_norm = {}
    for residual in (False, True):
        torch.manual_seed(0)
        model = DeepMLP(40, 32, residual=residual)
        norms = diagnostics.layer_gradient_norms(model, x, y, nn.functional.cross_entropy)
        first_layer_norm[residual] = next(iter(norms.values()))
    assert first_layer_norm[True] > 1e3 * first_layer_norm[False]
