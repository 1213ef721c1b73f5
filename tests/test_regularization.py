"""Inverted dropout and DropConnect: statistics with binomial-derived tolerances (fixed seeds), evaluation
mode, agreement with torch, and the statistical checks the lessons use."""

import numpy as np
import pytest
import torch

from autograder import checks
from reference_impl import regularization

SIZE = 200_000


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.9])
def test_dropout_drops_a_binomial_fraction_and_preserves_the_mean(p):
    out = regularization.dropout(np.ones(SIZE), p, True, np.random.default_rng(int(p * 100)))
    assert abs(np.mean(out == 0) - p) <= checks.binomial_tolerance(SIZE, p)
    assert abs(out.mean() - 1.0) <= checks.binomial_tolerance(SIZE, p) / (1 - p)
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / (1 - p)])


def test_dropout_expectation_matches_the_input_elementwise():
    # 400 draws of the same 50 values: each value's average output is within 5 standard errors of it.
    rng = np.random.default_rng(0)
    x, p, draws = rng.normal(size=50), 0.4, 400
    outputs = np.stack([regularization.dropout(x, p, True, rng) for _ in range(draws)])
    standard_error = np.abs(x) * np.sqrt(p / (1 - p) / draws)
    assert np.all(np.abs(outputs.mean(axis=0) - x) <= 5 * standard_error)


def test_dropout_is_the_identity_in_evaluation_and_at_p_zero_and_drops_everything_at_p_one():
    x = np.random.default_rng(1).normal(size=(4, 5))
    np.testing.assert_array_equal(regularization.dropout(x, 0.7, False, np.random.default_rng(0)), x)
    np.testing.assert_array_equal(regularization.dropout(x, 0.0, True, np.random.default_rng(0)), x)
    np.testing.assert_array_equal(regularization.dropout(x, 1.0, True, np.random.default_rng(0)), np.zeros_like(x))
    with pytest.raises(ValueError, match="between 0 and 1"):
        regularization.dropout(x, 1.5, True, np.random.default_rng(0))


def test_dropout_uses_the_documented_mask_and_leaves_its_input_alone():
    x = np.arange(1.0, 11.0)
    before = x.copy()
    out = regularization.dropout(x, 0.3, True, np.random.default_rng(5))
    keep = np.random.default_rng(5).random(10) >= 0.3
    np.testing.assert_array_equal(out, np.where(keep, before / 0.7, 0.0))
    np.testing.assert_array_equal(x, before)


def test_drop_connect_drops_weights_not_outputs_and_keeps_the_expectation():
    rng = np.random.default_rng(2)
    x, weight, bias, p = rng.normal(size=(4, 30)), rng.normal(size=(20, 30)), rng.normal(size=20), 0.5
    draws = [regularization.drop_connect_linear(x, weight, bias, p, True, rng) for _ in range(2000)]
    # Each output sums 30 independently dropped terms: variance (p/(1−p))·Σ x²w², so the mean of 2000 draws has
    # standard error sqrt of that over 2000.
    standard_error = np.sqrt(p / (1 - p) * (x**2) @ (weight**2).T / len(draws))
    assert np.all(np.abs(np.mean(draws, axis=0) - (x @ weight.T + bias)) <= 5 * standard_error)
    ones = regularization.drop_connect_linear(np.ones((100, 30)), np.ones((20, 30)), np.zeros(20), p, True, rng)
    assert np.all(ones == ones[0]), "one weight mask per call, shared by the minibatch"
    assert not np.any(ones == 0), "an output is zero only if all 30 of its weights are dropped"


def test_drop_connect_never_drops_the_bias_and_is_plain_in_evaluation():
    rng = np.random.default_rng(3)
    out = regularization.drop_connect_linear(np.ones((5, 10)), np.zeros((4, 10)), np.ones(4), 0.9, True, rng)
    np.testing.assert_array_equal(out, np.ones((5, 4)))
    x, weight, bias = rng.normal(size=(3, 10)), rng.normal(size=(4, 10)), rng.normal(size=4)
    np.testing.assert_allclose(
        regularization.drop_connect_linear(x, weight, bias, 0.5, False, rng), x @ weight.T + bias
    )


@pytest.mark.parametrize(
    "make",
    [lambda p: regularization.Dropout(p), lambda p: regularization.MaskDropout(regularization.dropout, p, seed=0)],
)
def test_dropout_modules_match_torch_statistics_and_are_identity_in_eval(make):
    torch.manual_seed(0)
    p = 0.3
    module = make(p)
    out = module(torch.ones(SIZE, dtype=torch.float64))
    assert abs(float((out == 0).double().mean()) - p) <= checks.binomial_tolerance(SIZE, p)
    torch.testing.assert_close(out.max(), torch.tensor(1 / (1 - p), dtype=torch.float64))
    module.eval()
    x = torch.randn(7, 3)
    assert torch.equal(module(x), x)


def test_mask_dropout_lets_gradients_flow_through_the_kept_values():
    module = regularization.MaskDropout(regularization.dropout, 0.5, seed=1)
    x = torch.ones(1000, requires_grad=True)
    out = module(x)
    out.sum().backward()
    torch.testing.assert_close(x.grad, out.detach())  # d(x·mask)/dx = mask


def test_drop_connect_linear_module_matches_nn_linear_in_eval_and_in_expectation():
    torch.manual_seed(0)
    layer = regularization.DropConnectLinear(30, 20, p=0.5)
    plain = torch.nn.Linear(30, 20)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(4, 30)
    layer.eval()
    torch.testing.assert_close(layer(x), plain(x))
    layer.train()
    with torch.no_grad():
        mean = torch.stack([layer(x) for _ in range(4000)]).mean(0)
        standard_error = torch.sqrt((x**2) @ (layer.weight**2).T / 4000)  # p/(1−p) = 1
    assert torch.all((mean - plain(x)).abs() <= 5 * standard_error)


# --- the statistical checks of autograder.checks --------------------------------------------------


def test_binomial_tolerance_is_z_standard_errors():
    assert checks.binomial_tolerance(10_000, 0.5) == pytest.approx(5 * 0.005)
    assert checks.binomial_tolerance(100, 0.1, z=2) == pytest.approx(2 * 0.03)


def test_sample_variance_tolerance_covers_the_spread_of_sample_variances():
    rng = np.random.default_rng(0)
    for draw, kurtosis in [
        (lambda n: rng.normal(size=n), 3.0),
        (lambda n: rng.uniform(-1, 1, size=n) * np.sqrt(3), 1.8),
    ]:
        variances = [np.var(draw(500), ddof=1) for _ in range(2000)]
        predicted = checks.sample_variance_tolerance(500, 1.0, kurtosis, z=1.0)
        assert np.std(variances) == pytest.approx(predicted, rel=0.1)


def ones_in_training(p=0.3, seed=0):
    return lambda: ((np.ones(SIZE), p, True, np.random.default_rng(seed)), {})


DROPOUT_STATISTICS = {
    "the fraction dropped": (lambda y: np.mean(y == 0), 0.3, checks.binomial_tolerance(SIZE, 0.3)),
    "the largest output": (lambda y: np.max(y), 1 / 0.7, 1e-9),
}


def test_check_statistics_passes_a_correct_function_and_names_a_matching_mistake():
    checks.check_statistics(regularization.dropout, make_args=ones_in_training(), statistics=DROPOUT_STATISTICS)

    def unscaled(x, p, training, rng):
        return np.where(rng.random(x.shape) >= p, x, 0.0)

    with pytest.raises(
        AssertionError,
        match=r"unscaled: the largest output is 1, expected 1\.4286 ± 1e-09\. "
        r"That is what you get if you forget to scale",
    ):
        checks.check_statistics(
            unscaled,
            make_args=ones_in_training(),
            statistics=DROPOUT_STATISTICS,
            mistakes={"never drop": lambda x, p, training, rng: x, "forget to scale": unscaled},
        )


def test_check_statistics_reports_a_missing_return():
    with pytest.raises(AssertionError, match="returned None"):
        checks.check_statistics(lambda *args: None, make_args=ones_in_training(), statistics=DROPOUT_STATISTICS)
