"""Layer and group norm: parity with torch (outputs and gradients, every group count) and gradient checks.
Lesson 06's graded cells against its known mistakes: test_lesson_mistakes.py."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder import checks
from reference_impl import gradcheck, norms


def torch_gradients(function, arrays, upstream):
    """Output and gradients of sum(function(*tensors) * upstream) by torch's autograd, as float64 arrays."""
    tensors = [torch.tensor(array, requires_grad=True) for array in arrays]
    out = function(*tensors)
    (out * torch.tensor(upstream)).sum().backward()
    return out.detach().numpy(), [tensor.grad.numpy() for tensor in tensors]


@st.composite
def layer_norm_cases(draw):
    ndim = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    normalized_ndim = draw(st.integers(1, ndim - 1))
    if np.prod(shape[-normalized_ndim:]) < 2:
        shape = shape[:-1] + (2,)
    return shape, normalized_ndim, draw(st.integers(0, 2**31))


@given(layer_norm_cases())
def test_layer_norm_matches_torch_forward_and_backward(case):
    shape, normalized_ndim, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.uniform(-3, 3), 10 ** rng.uniform(-1, 1), size=shape)
    gamma, beta = rng.normal(size=shape[-normalized_ndim:]), rng.normal(size=shape[-normalized_ndim:])
    upstream = rng.normal(size=shape)
    expected, grads = torch_gradients(
        lambda x, g, b: torch.nn.functional.layer_norm(x, gamma.shape, g, b, 1e-5), (x, gamma, beta), upstream
    )
    out, cache = norms.layer_norm_forward(x, gamma, beta)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    for ours, theirs in zip(norms.layer_norm_backward(upstream, cache), grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


@st.composite
def group_norm_cases(draw):
    channels = draw(st.sampled_from([1, 2, 4, 6, 8, 12]))
    groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    spatial = tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
    if channels // groups * int(np.prod(spatial)) < 2:
        spatial = (2,) + spatial[1:]
    return (draw(st.integers(1, 4)), channels, *spatial), groups, draw(st.integers(0, 2**31))


@given(group_norm_cases())
def test_group_norm_matches_torch_forward_and_backward(case):
    shape, groups, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * rng.uniform(0.1, 10, size=(1, shape[1]) + (1,) * (len(shape) - 2))
    gamma, beta, upstream = rng.normal(size=shape[1]), rng.normal(size=shape[1]), rng.normal(size=shape)
    expected, grads = torch_gradients(
        lambda x, g, b: torch.nn.functional.group_norm(x, groups, g, b, 1e-5), (x, gamma, beta), upstream
    )
    out, cache = norms.group_norm_forward(x, groups, gamma, beta)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    for ours, theirs in zip(norms.group_norm_backward(upstream, cache), grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm_passes_the_gradient_check_for_every_group_count(groups):
    rng = np.random.default_rng(groups)
    x, gamma, beta, upstream = (
        rng.normal(size=(3, 6, 4)),
        rng.normal(size=6),
        rng.normal(size=6),
        rng.normal(size=(3, 6, 4)),
    )
    _out, cache = norms.group_norm_forward(x, groups, gamma, beta)
    dx, dgamma, dbeta = norms.group_norm_backward(upstream, cache)
    errors = gradcheck.gradient_errors(
        lambda x, gamma, beta: (norms.group_norm_forward(x, groups, gamma, beta)[0] * upstream).sum(),
        {"x": x, "gamma": gamma, "beta": beta},
        {"x": dx, "gamma": gamma * 0 + dgamma, "beta": dbeta},
    )
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("shape, normalized_ndim", [((4, 7), 1), ((3, 4, 5), 2), ((2, 3, 2, 3), 3)])
def test_layer_norm_passes_the_gradient_check(shape, normalized_ndim):
    rng = np.random.default_rng(len(shape))
    x, upstream = rng.normal(size=shape), rng.normal(size=shape)
    gamma, beta = rng.normal(size=shape[-normalized_ndim:]), rng.normal(size=shape[-normalized_ndim:])
    _out, cache = norms.layer_norm_forward(x, gamma, beta)
    dx, dgamma, dbeta = norms.layer_norm_backward(upstream, cache)
    errors = gradcheck.gradient_errors(
        lambda x, gamma, beta: (norms.layer_norm_forward(x, gamma, beta)[0] * upstream).sum(),
        {"x": x, "gamma": gamma, "beta": beta},
        {"x": dx, "gamma": dgamma, "beta": dbeta},
    )
    assert max(errors.values()) < 1e-7, errors


def test_one_group_is_layer_norm_and_c_groups_instance_norm():
    rng = np.random.default_rng(0)
    x, ones, zeros = rng.normal(size=(3, 4, 5)), np.ones(4), np.zeros(4)
    layer, _ = norms.layer_norm_forward(x, np.ones((4, 5)), np.zeros((4, 5)))
    np.testing.assert_allclose(norms.group_norm_forward(x, 1, ones, zeros)[0], layer)
    instance = torch.nn.functional.instance_norm(torch.tensor(x)).numpy()
    np.testing.assert_allclose(norms.group_norm_forward(x, 4, ones, zeros)[0], instance, atol=1e-12)


@pytest.mark.parametrize(
    "make_ours, make_theirs, shape",
    [
        (lambda: norms.LayerNorm((4, 5)), lambda: torch.nn.LayerNorm((4, 5)), (3, 4, 5)),
        (lambda: norms.LayerNorm(6), lambda: torch.nn.LayerNorm(6), (7, 6)),
        *[
            (lambda g=g: norms.GroupNorm(g, 6), lambda g=g: torch.nn.GroupNorm(g, 6), (2, 6, 3, 2))
            for g in (1, 2, 3, 6)
        ],
    ],
)
def test_modules_match_torch_modules_with_gradients(make_ours, make_theirs, shape):
    for training in (True, False):
        checks.check_module(
            lambda: make_ours(),
            lambda: make_theirs(),
            [np.random.default_rng(1).normal(size=shape) for _ in range(2)],
            training=[training] * 2,
        )


def test_modules_have_torch_state_dict_keys():
    assert norms.GroupNorm(2, 4).state_dict().keys() == torch.nn.GroupNorm(2, 4).state_dict().keys()
    assert norms.LayerNorm(4).state_dict().keys() == torch.nn.LayerNorm(4).state_dict().keys()


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="must divide"):
        norms.group_norm_forward(np.ones((2, 6, 3)), 4, np.ones(6), np.zeros(6))
    with pytest.raises(ValueError, match="trailing shape"):
        norms.layer_norm_forward(np.ones((2, 6)), np.ones(5), np.zeros(5))
    with pytest.raises(ValueError, match="divisible"):
        norms.GroupNorm(4, 6)


def test_first_output_keeps_the_name_and_demands_a_tuple():
    wrapped = checks.first_output(norms.layer_norm_forward)
    assert wrapped.__name__ == "layer_norm_forward"
    with pytest.raises(AssertionError, match="must return a tuple"):
        checks.first_output(lambda x: x)(1.0)
