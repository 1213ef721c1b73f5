"""Batch norm: the NumPy reference and the torch module against PyTorch, and lesson 03's hidden tests
against every known wrong answer."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from autograder import checks
from notebook_runner import run_graded_cell
from reference_impl import gradcheck, norms

SHAPES = [(6, 4), (5, 3, 7), (4, 2, 3, 5)]  # BatchNorm1d on (N, C) and (N, C, L); BatchNorm2d on (N, C, H, W)


def torch_batch_norm_class(shape):
    return nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d


def random_case(shape, seed=0):
    rng = np.random.default_rng(seed)
    channels = shape[1]
    return (
        rng.normal(2.0, 3.0, size=shape),
        rng.normal(size=channels),
        rng.normal(size=channels),
        rng.normal(size=shape),
    )


def torch_training_gradients(x, gamma, beta, dout, eps=1e-5):
    tensors = [torch.tensor(value, requires_grad=True) for value in (x, gamma, beta)]
    out = nn.functional.batch_norm(tensors[0], None, None, tensors[1], tensors[2], training=True, eps=eps)
    (out * torch.tensor(dout)).sum().backward()
    return out.detach().numpy(), [tensor.grad.numpy() for tensor in tensors]


# --- NumPy forward and backward -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_forward_and_both_backward_passes_match_torch(shape, eps):
    x, gamma, beta, dout = random_case(shape)
    out, cache = norms.batch_norm_forward(x, gamma, beta, eps)
    expected_out, expected_gradients = torch_training_gradients(x, gamma, beta, dout, eps)
    np.testing.assert_allclose(out, expected_out, rtol=1e-10, atol=1e-12)
    for backward in (norms.batch_norm_backward, norms.batch_norm_backward_staged):
        for mine, theirs in zip(backward(dout, cache), expected_gradients):
            np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)


def test_cache_holds_per_channel_statistics():
    x, gamma, beta, _ = random_case((5, 3, 4))
    _out, cache = norms.batch_norm_forward(x, gamma, beta)
    np.testing.assert_allclose(cache["mean"], x.mean(axis=(0, 2)))
    np.testing.assert_allclose(cache["var"], x.var(axis=(0, 2)))  # biased
    np.testing.assert_allclose(cache["inv_std"], 1 / np.sqrt(x.var(axis=(0, 2)) + 1e-5))
    assert cache["x_hat"].shape == x.shape


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_passes_the_gradient_check(shape):
    x, gamma, beta, dout = random_case(shape, seed=1)
    _out, cache = norms.batch_norm_forward(x, gamma, beta)

    def weighted_output(x, gamma, beta):
        return (norms.batch_norm_forward(x, gamma, beta)[0] * dout).sum()

    errors = gradcheck.gradient_errors(
        weighted_output,
        {"x": x, "gamma": gamma, "beta": beta},
        dict(zip(("x", "gamma", "beta"), norms.batch_norm_backward(dout, cache))),
    )
    assert max(errors.values()) < 1e-7, errors


@given(
    batch=st.integers(2, 12),
    channels=st.integers(1, 4),
    offset=st.floats(-50, 50),
    log_scale=st.floats(-2, 2),
    seed=st.integers(0, 2**16),
)
def test_output_is_standardized_and_invariant_to_input_shift_and_scale(batch, channels, offset, log_scale, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, channels))
    x[0] += 1.0  # no constant channel: its variance would be below eps
    ones, zeros = np.ones(channels), np.zeros(channels)
    out, _ = norms.batch_norm_forward(x, ones, zeros, eps=0.0)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-9)
    shifted, _ = norms.batch_norm_forward(offset + 10**log_scale * x, ones, zeros, eps=0.0)
    np.testing.assert_allclose(shifted, out, rtol=1e-6, atol=1e-6)


@given(batch=st.integers(2, 10), channels=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_input_gradient_has_no_component_along_a_shift_or_scale_of_the_batch(batch, channels, seed):
    rng = np.random.default_rng(seed)
    x, dout = rng.normal(size=(batch, channels)), rng.normal(size=(batch, channels))
    x[0] += 1.0  # no constant channel
    # eps = 0: with eps > 0, scaling the batch changes x̂ very slightly, so the x̂ component is only nearly 0.
    _out, cache = norms.batch_norm_forward(x, rng.normal(size=channels), rng.normal(size=channels), eps=0.0)
    dx, _dgamma, _dbeta = norms.batch_norm_backward(dout, cache)
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose((dx * cache["x_hat"]).sum(axis=0), 0.0, atol=1e-9)


def test_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        norms.batch_norm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        norms.BatchNorm(3)(torch.ones(1, 3))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        norms.batch_norm_forward(np.ones(3), np.ones(3), np.zeros(3))


# --- running statistics and evaluation mode --------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_functional_batch_norm_matches_torch_over_several_steps_in_both_modes(shape, momentum):
    rng = np.random.default_rng(2)
    channels = shape[1]
    gamma, beta = rng.normal(size=channels), rng.normal(size=channels)
    running_mean, running_var = np.zeros(channels), np.ones(channels)
    torch_mean, torch_var = torch.zeros(channels, dtype=torch.float64), torch.ones(channels, dtype=torch.float64)
    for training in [True, True, False, True, False, False, True]:
        x = rng.normal(1.0, 2.0, size=shape)
        before = (running_mean.copy(), running_var.copy())
        out, running_mean, running_var = norms.batch_norm(x, gamma, beta, running_mean, running_var, training, momentum)
        expected = nn.functional.batch_norm(
            torch.tensor(x),
            torch_mean,
            torch_var,
            torch.tensor(gamma),
            torch.tensor(beta),
            training=training,
            momentum=momentum,
        )
        np.testing.assert_allclose(out, expected.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(running_mean, torch_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(running_var, torch_var.numpy(), rtol=1e-12)
        if not training:
            np.testing.assert_array_equal(running_mean, before[0])
            np.testing.assert_array_equal(running_var, before[1])


def test_running_variance_gets_the_unbiased_batch_variance():
    x = np.array([[0.0], [2.0]])  # biased variance 1, unbiased 2
    new_mean, new_var = norms.update_running_stats(np.zeros(1), np.ones(1), x.mean(0), x.var(0), count=2, momentum=1.0)
    np.testing.assert_allclose(new_mean, [1.0])
    np.testing.assert_allclose(new_var, [2.0])


# --- torch modules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_module_matches_torch_in_outputs_gradients_and_running_stats(shape, momentum):
    rng = np.random.default_rng(3)
    training = [True, True, False, True, False, True, True, False]
    inputs = [rng.normal(1.5, 2.5, size=shape) for _ in training]
    checks.check_module(
        norms.BatchNorm,
        torch_batch_norm_class(shape),
        inputs,
        training=training,
        args=(shape[1],),
        kwargs={"momentum": momentum},
    )


def test_module_state_dict_is_interchangeable_with_torch():
    torch_module = nn.BatchNorm1d(3)
    torch_module(torch.randn(8, 3))
    module = norms.BatchNorm(3)
    module.load_state_dict(torch_module.state_dict())
    assert int(module.num_batches_tracked) == 1
    torch_module.load_state_dict(norms.BatchNorm(3).state_dict())


def test_num_batches_tracked_counts_training_batches_only():
    module = norms.BatchNorm(2)
    for training in [True, False, True]:
        module.train(training)
        module(torch.randn(4, 2))
    assert int(module.num_batches_tracked) == 2


def test_autograd_function_passes_torch_gradcheck():
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(5, 3, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, generator=generator, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *args: norms.BatchNormFunction.apply(*args, 1e-5)[0], (x, weight, bias))


def test_module_trains_in_float32():
    module = norms.BatchNorm(4)
    out = module(torch.randn(16, 4) * 3 + 1)
    out.pow(2).sum().backward()
    assert out.dtype == torch.float32 and module.weight.grad is not None


# --- the generic module check -------------------------------------------------------------------------------------


class LinearWithoutBias(nn.Linear):
    def forward(self, x):
        return x @ self.weight.T


def test_check_module_accepts_a_faithful_copy_and_names_a_known_mistake():
    inputs = [np.random.default_rng(5).normal(size=(4, 3)) for _ in range(3)]
    checks.check_module(nn.Linear, nn.Linear, inputs, training=[True, False, True], args=(3, 2))
    with pytest.raises(AssertionError, match="step 1 .*your output.*That is what you get if you forget the bias"):
        checks.check_module(
            LinearWithoutBias,
            nn.Linear,
            inputs,
            training=[True] * 3,
            args=(3, 2),
            mistakes={"forget the bias": LinearWithoutBias},
        )


def test_check_module_reports_a_missing_buffer():
    class NoBuffers(nn.Module):
        def __init__(self, num_features):
            super().__init__()
            self.weight, self.bias = nn.Parameter(torch.ones(num_features)), nn.Parameter(torch.zeros(num_features))

        def forward(self, x):
            return x * self.weight + self.bias

    with pytest.raises(AssertionError, match="has no 'running_mean'"):
        checks.check_module(NoBuffers, nn.BatchNorm1d, [np.ones((4, 2))], training=[True], args=(2,))


# --- lesson 03's hidden tests against the known wrong answers ----------------------------------------------------


def run_lesson_cell(exercise, **answers):
    return run_graded_cell("03_batch_norm", exercise, answers)


REFERENCE_ANSWERS = {
    "batch_norm_forward": norms.batch_norm_forward,
    "batch_norm_backward": norms.batch_norm_backward,
    "batch_norm": norms.batch_norm,
    "BatchNorm": norms.BatchNorm,
    "weight_gradient_scale": lambda a: 1 / a,
}


@pytest.mark.parametrize("exercise", ["forward", "backward", "running_stats", "module", "gradient_scale"])
def test_hidden_tests_pass_the_reference(exercise):
    run_lesson_cell(exercise, **REFERENCE_ANSWERS)


def test_backward_missing_the_affine_gradients_is_caught():
    def without_affine_gradients(dout, cache):
        return norms.batch_norm_backward(dout, cache)[0], None, None

    with pytest.raises(AssertionError, match="is None: did you forget to return it"):
        run_lesson_cell("backward", **{**REFERENCE_ANSWERS, "batch_norm_backward": without_affine_gradients})


@pytest.mark.parametrize("wrong", [lambda a: 1.0, lambda a: a, lambda a: 1 / a**2], ids=["1", "a", "1/a²"])
def test_gradient_scale_rejects_wrong_factors(wrong):
    with pytest.raises(AssertionError, match="weight_gradient_scale"):
        run_lesson_cell("gradient_scale", weight_gradient_scale=wrong)


def test_in_place_update_of_the_running_statistics_is_caught():
    def in_place(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        out, new_mean, new_var = norms.batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps)
        running_mean[...], running_var[...] = new_mean, new_var
        return out, running_mean, running_var

    with pytest.raises(AssertionError):
        run_lesson_cell("running_stats", **{**REFERENCE_ANSWERS, "batch_norm": in_place})
