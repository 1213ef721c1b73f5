"""The 2-D test functions: gradients, minima, and gradient descent on them."""

import math

import numpy as np
import pytest
import torch

from reference_impl.landscapes import beale, descend, quadratic, rosenbrock, rotated_quadratic


def rotated_bowl(kappa, angle):
    """0.5 (u^2 / kappa + w^2) in coordinates (u, w) turned by `angle`, written out for torch."""

    def loss(x, y):
        u = math.cos(angle) * x + math.sin(angle) * y
        w = -math.sin(angle) * x + math.cos(angle) * y
        return 0.5 * (u**2 / kappa + w**2)

    return loss


# Each landscape with its loss written independently in torch, from the formula in its docstring.
CASES = {
    "quadratic-1": (lambda: quadratic(1.0), lambda x, y: 0.5 * (x**2 + y**2)),
    "quadratic-10": (lambda: quadratic(10.0), lambda x, y: 0.5 * (x**2 / 10 + y**2)),
    "quadratic-1000": (lambda: quadratic(1000.0), lambda x, y: 0.5 * (x**2 / 1000 + y**2)),
    "rotated-50": (lambda: rotated_quadratic(50.0), rotated_bowl(50.0, np.pi / 4)),
    "rotated-7-at-0.3": (lambda: rotated_quadratic(7.0, angle=0.3), rotated_bowl(7.0, 0.3)),
    "rosenbrock": (rosenbrock, lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    "beale": (
        beale,
        lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
    ),
}
QUADRATICS = {
    "quadratic-1": (quadratic(1.0), 1.0),
    "quadratic-10": (quadratic(10.0), 10.0),
    "quadratic-100": (quadratic(100.0), 100.0),
    "rotated-5": (rotated_quadratic(5.0), 5.0),
    "rotated-50-at-1.1": (rotated_quadratic(50.0, angle=1.1), 50.0),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    make, torch_loss = CASES[request.param]
    return make(), torch_loss


def random_points(landscape, count=64, seed=0):
    (x_min, x_max), (y_min, y_max) = landscape.bounds
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(x_min, x_max, count), rng.uniform(y_min, y_max, count)], axis=-1)


def relative_error(a, b):
    """CS231n's |a - b| / max(|a| + |b|, 1e-8), elementwise."""
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)


def centered_difference_gradient(loss, points, h=1e-5):
    return np.stack([(loss(points + h * e) - loss(points - h * e)) / (2 * h) for e in np.eye(2)], axis=-1)


def finite_difference_hessian(loss, point, h=1e-2):
    """Second centered differences of the loss alone (not its gradient): exact for a quadratic."""
    e = h * np.eye(2)
    return np.array(
        [
            [
                (
                    loss(point + e[i] + e[j])
                    - loss(point + e[i] - e[j])
                    - loss(point - e[i] + e[j])
                    + loss(point - e[i] - e[j])
                )
                / (4 * h**2)
                for j in range(2)
            ]
            for i in range(2)
        ]
    )


def gradient_descent(lr):
    return lambda point, grad, state: (point - lr * grad, state)


def test_loss_matches_the_documented_formula(case):
    landscape, torch_loss = case
    points = random_points(landscape)
    expected = torch_loss(torch.from_numpy(points[:, 0]), torch.from_numpy(points[:, 1])).numpy()
    np.testing.assert_allclose(landscape.loss(points), expected, rtol=1e-12, atol=1e-12)


def test_gradient_matches_torch_autograd(case):
    landscape, torch_loss = case
    points = torch.tensor(random_points(landscape), requires_grad=True)
    torch_loss(points[:, 0], points[:, 1]).sum().backward()
    np.testing.assert_allclose(landscape.grad(points.detach().numpy()), points.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_gradient_matches_centered_finite_differences(case):
    landscape, _ = case
    points = random_points(landscape, seed=1)
    numeric = centered_difference_gradient(landscape.loss, points)
    assert relative_error(landscape.grad(points), numeric).max() < 1e-6


def test_loss_and_gradient_work_on_any_leading_shape(case):
    landscape, _ = case
    grid = random_points(landscape, count=12).reshape(3, 4, 2)
    assert landscape.loss(grid).shape == (3, 4)
    assert landscape.grad(grid).shape == (3, 4, 2)
    np.testing.assert_allclose(landscape.grad(grid)[1, 2], landscape.grad(grid[1, 2]), rtol=1e-15)
    np.testing.assert_allclose(landscape.loss(grid)[2, 3], landscape.loss(grid[2, 3]), rtol=1e-15)


def test_minimum_is_a_stationary_point_with_the_lowest_loss_around_it(case):
    landscape, _ = case
    minimum = np.array(landscape.minimum)
    np.testing.assert_allclose(landscape.grad(minimum), [0.0, 0.0], atol=1e-12)
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    for radius in (1e-3, 1e-2, 1e-1):
        circle = minimum + radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
        assert np.all(landscape.loss(circle) > landscape.loss(minimum)), f"radius {radius}"


def test_start_and_minimum_lie_inside_the_plot_bounds(case):
    landscape, _ = case
    (x_min, x_max), (y_min, y_max) = landscape.bounds
    for x, y in (landscape.start, landscape.minimum):
        assert x_min <= x <= x_max and y_min <= y <= y_max


@pytest.mark.parametrize("make", [quadratic, rotated_quadratic])
def test_quadratics_reject_a_condition_number_below_one(make):
    with pytest.raises(ValueError):
        make(0.5)


def test_descend_returns_every_visited_point_from_the_start():
    landscape, lr, steps = rosenbrock(), 1e-3, 50
    path = descend(landscape, gradient_descent(lr), steps)
    assert path.shape == (steps + 1, 2)
    np.testing.assert_array_equal(path[0], landscape.start)
    for t in range(1, steps + 1):
        np.testing.assert_allclose(path[t], path[t - 1] - lr * landscape.grad(path[t - 1]), rtol=1e-15)


def test_descend_threads_the_state_from_step_to_step():
    received = []

    def counting_step(point, grad, state):
        received.append(state)
        return point, state + 1

    descend(quadratic(), counting_step, steps=5, state=10)
    assert received == [10, 11, 12, 13, 14]


def test_descend_stops_cleanly_when_the_iterate_overflows():
    calls = []

    def step(point, grad, state):
        calls.append(point.copy())
        return point - 1.0 * grad, state  # lr 1 on Rosenbrock overflows within a few steps

    steps = 200
    with np.errstate(over="ignore", invalid="ignore"):
        path = descend(rosenbrock(), step, steps)
    assert path.shape == (steps + 1, 2)
    assert 1 < len(calls) < steps, "the run should diverge, and descend should stop calling step"
    assert np.all(np.isfinite(path))
    np.testing.assert_array_equal(
        path[len(calls) :], np.broadcast_to(path[len(calls) - 1], (steps + 1 - len(calls), 2))
    )


@pytest.mark.parametrize("name", list(QUADRATICS))
def test_hessian_eigenvalues_give_the_condition_number(name):
    landscape, kappa = QUADRATICS[name]
    eigenvalues = np.linalg.eigvalsh(finite_difference_hessian(landscape.loss, np.array(landscape.start)))
    np.testing.assert_allclose(eigenvalues, [1 / kappa, 1.0], rtol=1e-6)


@pytest.mark.parametrize("name", list(QUADRATICS))
def test_gradient_descent_converges_below_2_over_lambda_max_and_diverges_above(name):
    landscape, _ = QUADRATICS[name]
    start = np.array(landscape.start)
    lambda_max = np.linalg.eigvalsh(finite_difference_hessian(landscape.loss, start)).max()
    critical = 2 / lambda_max
    assert critical == pytest.approx(2.0, rel=1e-6)  # what quadratic()'s docstring promises

    stable = descend(landscape, gradient_descent(0.95 * critical), steps=2000)
    assert np.linalg.norm(stable[-1] - landscape.minimum) < 1e-8 * np.linalg.norm(start)

    unstable = descend(landscape, gradient_descent(1.05 * critical), steps=2000)
    assert np.linalg.norm(unstable[-1] - landscape.minimum) > 1e6 * np.linalg.norm(start)
