"""reference_impl.clipping matches torch.nn.utils.clip_grad_norm_ / clip_grad_value_; check_in_place on clipping.
Lesson 05's graded cells against its known mistakes: test_lesson_mistakes.py."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder import checks
from reference_impl import clipping
from reference_impl.models import RNNRegressor, adding_problem

NORM_TYPES = [1.0, 2.0, 3.0, math.inf]


@st.composite
def gradients(draw):
    """Shapes and gradients for a few parameters; some without a gradient; magnitudes from tiny to huge."""
    count = draw(st.integers(1, 4))
    scale = 10.0 ** draw(st.integers(-4, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shapes = [tuple(rng.integers(1, 5, size=rng.integers(0, 3))) for _ in range(count)]
    has_grad = [draw(st.booleans()) for _ in range(count)]
    values = [rng.normal(size=shape) for shape in shapes]
    grads = [scale * rng.normal(size=shape) if keep else None for shape, keep in zip(shapes, has_grad)]
    return values, grads


def both(values, grads, dtype):
    make = checks.parameters_from(values, grads)
    ours, theirs = make(), make()
    for parameter in ours + theirs:
        parameter.data = parameter.data.to(dtype)
        if parameter.grad is not None:
            parameter.grad = parameter.grad.to(dtype)
    return ours, theirs


def assert_same_parameters(ours, theirs):
    for mine, torchs in zip(ours, theirs):
        assert torch.equal(mine.detach(), torchs.detach())
        assert (mine.grad is None) == (torchs.grad is None)
        if mine.grad is not None:
            torch.testing.assert_close(mine.grad, torchs.grad, rtol=1e-6, atol=0, equal_nan=True)


@given(gradients(), st.sampled_from(NORM_TYPES), st.floats(1e-3, 1e3), st.sampled_from([torch.float32, torch.float64]))
def test_clip_grad_norm_matches_torch(case, norm_type, max_norm, dtype):
    ours, theirs = both(*case, dtype)
    total = clipping.clip_grad_norm(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    torch.testing.assert_close(total, expected, rtol=1e-6, atol=0)
    assert_same_parameters(ours, theirs)


@given(gradients(), st.floats(1e-4, 1e2), st.sampled_from([torch.float32, torch.float64]))
def test_clip_grad_value_matches_torch(case, clip_value, dtype):
    ours, theirs = both(*case, dtype)
    assert clipping.clip_grad_value(ours, clip_value) is None
    if all(grad is None for grad in case[1]):
        # torch (2.13 at least) fails inside its tensor grouping when no parameter has a gradient;
        # ours, like clip_grad_norm_, simply has nothing to clip.
        assert all(parameter.grad is None for parameter in ours)
        return
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert_same_parameters(ours, theirs)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_non_finite_gradients_raise_or_propagate_like_torch(bad, norm_type):
    grads = [np.array([1.0, bad]), np.array([0.5])]
    ours, theirs = both([np.zeros(2), np.zeros(1)], grads, torch.float64)
    with pytest.raises(RuntimeError, match="non-finite"):
        clipping.clip_grad_norm(ours, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type, error_if_nonfinite=True)
    assert_same_parameters(ours, theirs)  # an error leaves the gradients as they were
    total = clipping.clip_grad_norm(ours, 1.0, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    torch.testing.assert_close(total, expected, equal_nan=True)
    assert_same_parameters(ours, theirs)


def test_accepts_a_single_tensor_a_generator_and_no_gradients_like_torch():
    for make_input in (lambda p: p[0], lambda p: (q for q in p)):
        ours, theirs = both([np.ones(3)], [np.full(3, 4.0)], torch.float32)
        torch.testing.assert_close(
            clipping.clip_grad_norm(make_input(ours), 1.0), torch.nn.utils.clip_grad_norm_(make_input(theirs), 1.0)
        )
        assert_same_parameters(ours, theirs)
    ours, theirs = both([np.ones(3)], [None], torch.float32)
    torch.testing.assert_close(clipping.clip_grad_norm(ours, 1.0), torch.nn.utils.clip_grad_norm_(theirs, 1.0))
    torch.testing.assert_close(clipping.clip_grad_norm([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))


def test_norm_clipping_keeps_direction_value_clipping_does_not():
    ours, _ = both([np.zeros(2)], [np.array([3.0, 0.5])], torch.float64)
    clipping.clip_grad_norm(ours, 1.0)
    assert ours[0].grad[1] / ours[0].grad[0] == pytest.approx(0.5 / 3.0)
    clipping.clip_grad_value(ours, 0.1)
    assert ours[0].grad[1] / ours[0].grad[0] == pytest.approx(1.0)


def rnn_batches(steps=6, length=12, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [adding_problem(16, length, generator) for _ in range(steps)]


def fresh_training(lr=0.5, seed=0):
    torch.manual_seed(seed)
    model = RNNRegressor(hidden_size=8, recurrent_scale=1.5).double()
    return model, torch.optim.SGD(model.parameters(), lr=lr)


@pytest.mark.parametrize("clip", [{}, {"max_norm": 0.5}, {"clip_value": 0.05}, {"max_norm": 1.0, "clip_value": 0.1}])
def test_train_with_clipping_matches_a_plain_torch_loop(clip):
    batches = [(x.double(), y.double()) for x, y in rnn_batches()]
    model, optimizer = fresh_training()
    history = clipping.train_with_clipping(model, optimizer, batches, torch.nn.functional.mse_loss, **clip)
    torch_model, torch_optimizer = fresh_training()
    for step, (inputs, targets) in enumerate(batches):
        torch_optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(torch_model(inputs), targets)
        loss.backward()
        assert history["loss"][step] == pytest.approx(loss.item(), rel=1e-12)
        norm = torch.nn.utils.clip_grad_norm_(torch_model.parameters(), math.inf)
        assert history["grad_norm"][step] == pytest.approx(norm.item(), rel=1e-12)
        if "max_norm" in clip:
            torch.nn.utils.clip_grad_norm_(torch_model.parameters(), clip["max_norm"])
        if "clip_value" in clip:
            torch.nn.utils.clip_grad_value_(torch_model.parameters(), clip["clip_value"])
        torch_optimizer.step()
    for mine, theirs in zip(model.parameters(), torch_model.parameters()):
        torch.testing.assert_close(mine, theirs)


def test_train_with_clipping_stops_at_the_first_non_finite_loss():
    batches = [(x.double(), y.double()) for x, y in rnn_batches(steps=5)]
    batches[2] = (batches[2][0].clone().fill_(math.nan), batches[2][1])
    model, optimizer = fresh_training()
    history = clipping.train_with_clipping(model, optimizer, batches, torch.nn.functional.mse_loss, max_norm=1.0)
    assert len(history["loss"]) == 3 and math.isnan(history["loss"][-1])
    assert all(math.isfinite(value) for value in history["loss"][:2])


# --- check_in_place on clipping, with cases drawn the way the hidden tests in solutions/05_gradient_clipping do --


def norm_case(rng, norm_type, scale):
    shapes = [(3, 4), (5,), (2, 3), (4,)]
    values = [rng.normal(size=shape) for shape in shapes]
    grads = [scale * rng.normal(size=shape) for shape in shapes[:-1]] + [None]
    return checks.parameters_from(values, grads)


def observe_parameters(args):
    return checks.parameter_observations(args[0])


def test_check_in_place_passes_the_reference_and_reports_a_missing_gradient():
    make = norm_case(np.random.default_rng(503), 2.0, 3.0)
    checks.check_in_place(
        clipping.clip_grad_norm, clipping.clip_grad_norm, lambda: (make(), 1.0), observe=observe_parameters
    )

    def drops_gradients(parameters, max_norm):
        total = clipping.clip_grad_norm(parameters, max_norm)
        parameters[0].grad = None
        return total

    with pytest.raises(AssertionError, match="the gradient of parameter 0 is None"):
        checks.check_in_place(
            drops_gradients, clipping.clip_grad_norm, lambda: (make(), 1.0), observe=observe_parameters
        )
