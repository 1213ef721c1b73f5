"""The numerical gradient checker: accurate on known gradients, scale-free, and loud about wrong ones."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl.gradcheck import assert_gradients_match, gradient_errors, numerical_gradient, relative_error


def test_numerical_gradient_of_known_functions():
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    np.testing.assert_allclose(numerical_gradient(lambda v: (v**2).sum(), x), 2 * x, rtol=1e-9)
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sin(v).sum(), x), np.cos(x), rtol=1e-8)


def test_numerical_gradient_leaves_its_input_alone_and_accepts_integers():
    x = np.array([1.0, 2.0])
    numerical_gradient(lambda v: (v**3).sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    np.testing.assert_allclose(numerical_gradient(lambda v: (v**2).sum(), np.array([1, 2])), [2.0, 4.0])


@given(scale=st.floats(1e-6, 1e6), seed=st.integers(0, 2**16))
def test_relative_error_is_symmetric_bounded_and_scale_free(scale, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=5), rng.normal(size=5)
    assert relative_error(a, a) == 0.0
    assert relative_error(a, b) == pytest.approx(relative_error(b, a))
    assert 0.0 <= relative_error(a, b) <= 1.0
    assert relative_error(scale * a, scale * b) == pytest.approx(relative_error(a, b), rel=1e-9)


def test_relative_error_of_two_zero_gradients_is_zero_and_shapes_must_agree():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.zeros(3), np.zeros(4))


def test_a_correct_float64_gradient_is_far_below_the_tolerance():
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(3, 4)), rng.normal(size=4)

    def loss(w, x):
        return np.tanh(w @ x).sum()

    inner = 1 - np.tanh(w @ x) ** 2
    errors = gradient_errors(loss, {"w": w, "x": x}, {"w": np.outer(inner, x), "x": w.T @ inner})
    assert max(errors.values()) < 1e-9


def test_assert_gradients_match_names_the_wrong_missing_or_misshapen_gradient():
    x = np.array([1.0, -2.0, 3.0])

    def loss(x):
        return (x**2).sum()

    assert_gradients_match(loss, {"x": x}, {"x": 2 * x})
    with pytest.raises(AssertionError, match="relative error x: 3.33e-01"):
        assert_gradients_match(loss, {"x": x}, {"x": x})
    with pytest.raises(AssertionError, match="gradient for x is None"):
        assert_gradients_match(loss, {"x": x}, {"x": None})
    with pytest.raises(AssertionError, match=r"shape \(2,\), expected \(3,\)"):
        assert_gradients_match(loss, {"x": x}, {"x": np.ones(2)})
