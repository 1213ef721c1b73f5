"""reference_impl.optim.SGD and its pure update rules against torch.optim.SGD and hand-worked numbers."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reference_impl.landscapes import rotated_quadratic
from reference_impl.optim import SGD, ema_momentum_step, gd_step, heavy_ball_step, nesterov_step, sgd_update

STEPS = 24
FLOAT64 = {"rtol": 1e-10, "atol": 1e-12}  # float64; the two compute in a different order
SEEDS = st.integers(0, 2**31 - 1)
SHAPES = st.lists(st.lists(st.integers(1, 5), max_size=3).map(tuple), min_size=1, max_size=4)


def zero_or(strategy):
    """Zero half the time: the special case `!= 0` branches in torch and in the rule hinge on."""
    return st.one_of(st.just(0.0), strategy)


@st.composite
def sgd_hyperparameters(draw):
    """Any combination torch.optim.SGD accepts (Nesterov needs momentum > 0 and no dampening)."""
    momentum = draw(zero_or(st.floats(0.05, 0.99)))
    nesterov = momentum > 0 and draw(st.booleans())
    return {
        "lr": draw(st.floats(1e-3, 1.0)),
        "momentum": momentum,
        "dampening": 0.0 if nesterov else draw(zero_or(st.floats(0.0, 1.0))),
        "weight_decay": draw(zero_or(st.floats(0.0, 0.1))),
        "nesterov": nesterov,
    }


def make_params(shapes, seed):
    """Float64 leaf tensors of the given shapes, then one more that never receives a gradient."""
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True) for shape in [*shapes, (3,)]
    ]


def gradient_stream(shapes, seed, steps):
    """`steps` lists of random gradients, one for each shape (none for the gradient-less parameter)."""
    generator = torch.Generator().manual_seed(seed + 1)
    return [[torch.randn(shape, generator=generator, dtype=torch.float64) for shape in shapes] for _ in range(steps)]


def run(optimizer, params, gradients):
    """One optimizer step per gradient list, written into .grad in place as backward() does.

    Returns the parameters' values after every step.
    """
    path = []
    for grads in gradients:
        for param, grad in zip(params, grads):  # the last parameter gets no gradient
            if param.grad is None:
                param.grad = grad.clone()
            else:
                param.grad.copy_(grad)
        optimizer.step()
        path.append([param.detach().clone() for param in params])
    return path


def assert_same_path(ours, theirs):
    for step, (ours_params, their_params) in enumerate(zip(ours, theirs, strict=True), start=1):
        for index, (a, b) in enumerate(zip(ours_params, their_params, strict=True)):
            torch.testing.assert_close(a, b, **FLOAT64, msg=lambda m: f"step {step}, parameter {index}: {m}")


@settings(max_examples=40)
@given(shapes=SHAPES, seed=SEEDS, hyper=sgd_hyperparameters(), group_hyper=sgd_hyperparameters())
def test_sgd_follows_torch_sgd_step_by_step(shapes, seed, hyper, group_hyper):
    """Two parameter groups: the constructor's hyperparameters, and a second group overriding all of them."""
    gradients = gradient_stream(shapes, seed, STEPS)
    paths = []
    for optimizer_class in (SGD, torch.optim.SGD):
        params = make_params(shapes, seed)
        half = len(params) // 2
        groups = [{"params": params[:half]}, {"params": params[half:], **group_hyper}]
        paths.append(run(optimizer_class(groups, **hyper), params, gradients))
    assert_same_path(*paths)
    untouched = make_params(shapes, seed)[-1]
    torch.testing.assert_close(paths[0][-1][-1], untouched, rtol=0, atol=0)


@settings(max_examples=20)
@given(shapes=SHAPES, seed=SEEDS, hyper=sgd_hyperparameters(), save_at=st.integers(1, STEPS - 1))
@pytest.mark.parametrize(
    "saver, loader", [(SGD, torch.optim.SGD), (torch.optim.SGD, SGD)], ids=["ours->torch", "torch->ours"]
)
def test_state_dict_round_trip_continues_the_same_path(saver, loader, shapes, seed, hyper, save_at):
    gradients = gradient_stream(shapes, seed, STEPS)
    params = make_params(shapes, seed)
    uninterrupted = run(torch.optim.SGD(params, **hyper), params, gradients)

    params = make_params(shapes, seed)
    optimizer = saver(params, **hyper)
    first_part = run(optimizer, params, gradients[:save_at])
    saved = copy.deepcopy(optimizer.state_dict())  # torch updates its buffers in place later on

    fresh = [param.detach().clone().requires_grad_() for param in params]
    # A different lr at construction: the state dict's hyperparameters must win.
    resumed = loader(fresh, **{**hyper, "lr": hyper["lr"] / 2})
    resumed.load_state_dict(saved)
    second_part = run(resumed, fresh, gradients[save_at:])
    assert_same_path(first_part + second_part, uninterrupted)


def test_a_deep_copied_optimizer_continues_like_torch():
    """copy.deepcopy and pickling (torch.save of a whole optimizer) keep what Optimizer.__getstate__ returns."""
    shapes, seed, copy_at = [(3,), (2, 2)], 0, 5
    gradients = gradient_stream(shapes, seed, STEPS)
    paths = []
    for optimizer_class in (SGD, torch.optim.SGD):
        params = make_params(shapes, seed)
        optimizer = optimizer_class(params, lr=0.1, momentum=0.9)
        first_part = run(optimizer, params, gradients[:copy_at])
        params, optimizer = copy.deepcopy((params, optimizer))
        paths.append(first_part + run(optimizer, params, gradients[copy_at:]))
    assert_same_path(*paths)


def test_step_with_a_closure_returns_its_loss_and_uses_its_gradients():
    x, target = torch.linspace(-1, 1, 8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)
    results = []
    for optimizer_class in (SGD, torch.optim.SGD):
        weight = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        optimizer = optimizer_class([weight], lr=0.1, momentum=0.5)

        def closure():
            optimizer.zero_grad()
            loss = F.mse_loss(weight * x, target)
            loss.backward()
            return loss

        losses = [optimizer.step(closure).item() for _ in range(3)]
        results.append([*losses, weight.item()])
    assert results[0] == pytest.approx(results[1], rel=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_buffer_does_not_alias_the_gradient(nesterov):
    """zero_grad(set_to_none=False) zeroes .grad in place and backward() accumulates into it: a buffer
    that *is* p.grad (PyTorch's first momentum step sets b = g) would be wiped."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 5, generator=generator, dtype=torch.float64)
    target = torch.randn(32, 3, generator=generator, dtype=torch.float64)
    finals = []
    for optimizer_class in (SGD, torch.optim.SGD):
        torch.manual_seed(1)
        model = nn.Linear(5, 3).double()
        optimizer = optimizer_class(model.parameters(), lr=0.1, momentum=0.9, nesterov=nesterov)
        for _ in range(10):
            optimizer.zero_grad(set_to_none=False)
            F.mse_loss(model(x), target).backward()
            optimizer.step()
        finals.append([param.detach() for param in model.parameters()])
    assert_same_path([finals[0]], [finals[1]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": -0.1},
        {"lr": 0.1, "momentum": -0.5},
        {"lr": 0.1, "weight_decay": -1e-4},
        {"lr": 0.1, "nesterov": True},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
    ],
    ids=[
        "negative lr",
        "negative momentum",
        "negative weight decay",
        "nesterov without momentum",
        "nesterov with dampening",
    ],
)
def test_sgd_rejects_the_hyperparameters_torch_rejects(kwargs):
    param = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError):
        torch.optim.SGD([param], **kwargs)
    with pytest.raises(ValueError):
        SGD([param], **kwargs)


def test_sgd_accepts_the_edge_cases_torch_accepts():
    param = torch.zeros(2, requires_grad=True)
    for kwargs in ({"lr": 0.0}, {"lr": 0.1, "dampening": 0.5}, {"lr": 0.1, "momentum": 0.9, "nesterov": True}):
        torch.optim.SGD([param], **kwargs)
        SGD([param], **kwargs)


# --- the pure rules on NumPy arrays, against numbers worked out by hand --------------------------------
P, G = np.array([1.0, -2.0]), np.array([0.5, 4.0])


def test_gd_step_by_hand():
    np.testing.assert_allclose(gd_step(P, G, lr=0.1), [0.95, -2.4])


def test_ema_momentum_step_by_hand():
    # v = 0.9 * [0.2, -0.2] + 0.1 * [0.5, 4] = [0.23, 0.22];  p = [1, -2] - 0.1 * v
    param, velocity = ema_momentum_step(P, G, np.array([0.2, -0.2]), lr=0.1, beta=0.9)
    np.testing.assert_allclose(velocity, [0.23, 0.22])
    np.testing.assert_allclose(param, [0.977, -2.022])


def test_heavy_ball_step_by_hand():
    # First step: b = g, undamped even with dampening; then b = 0.9 * [0.5, 4] + 0.5 * [1, -1] = [0.95, 3.1].
    param, buf = heavy_ball_step(P, G, None, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(buf, [0.5, 4.0])
    np.testing.assert_allclose(param, [0.95, -2.4])
    param, buf = heavy_ball_step(param, np.array([1.0, -1.0]), buf, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(buf, [0.95, 3.1])
    np.testing.assert_allclose(param, [0.855, -2.71])


def test_nesterov_step_by_hand():
    # First step: b = g, p -= 0.1 * (g + 0.9 g).  Then b = 0.9 * [0.5, 4] + [1, -1] = [1.45, 2.6],
    # p -= 0.1 * ([1, -1] + 0.9 * b) = 0.1 * [2.305, 1.34].
    param, buf = nesterov_step(P, G, None, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(buf, [0.5, 4.0])
    np.testing.assert_allclose(param, [0.905, -2.76])
    param, buf = nesterov_step(param, np.array([1.0, -1.0]), buf, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(buf, [1.45, 2.6])
    np.testing.assert_allclose(param, [0.6745, -2.894])


def test_sgd_update_applies_l2_weight_decay_before_the_step():
    # g + 0.1 p = [0.6, 3.8]
    param, state = sgd_update(P, G, {}, lr=0.1, weight_decay=0.1)
    np.testing.assert_allclose(param, [0.94, -2.38])
    assert state == {}
    param, state = sgd_update(P, G, {}, lr=0.1, momentum=0.9, weight_decay=0.1)
    np.testing.assert_allclose(param, [0.94, -2.38])
    assert set(state) == {"momentum_buffer"}
    np.testing.assert_allclose(state["momentum_buffer"], [0.6, 3.8])


@pytest.mark.parametrize(
    "call",
    [
        lambda p, g, b: gd_step(p, g, lr=0.1),
        lambda p, g, b: ema_momentum_step(p, g, b, lr=0.1, beta=0.9),
        lambda p, g, b: heavy_ball_step(p, g, b, lr=0.1, momentum=0.9, dampening=0.3),
        lambda p, g, b: nesterov_step(p, g, b, lr=0.1, momentum=0.9),
        lambda p, g, b: sgd_update(p, g, {"momentum_buffer": b}, lr=0.1, momentum=0.9, weight_decay=0.1),
    ],
    ids=["gd", "ema", "heavy_ball", "nesterov", "sgd_update"],
)
def test_rules_do_not_modify_their_inputs(call):
    param, grad, buf = P.copy(), G.copy(), np.array([0.3, -0.7])
    call(param, grad, buf)
    np.testing.assert_array_equal(param, P)
    np.testing.assert_array_equal(grad, G)
    np.testing.assert_array_equal(buf, [0.3, -0.7])


@settings(max_examples=30)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), seed=SEEDS, hyper=sgd_hyperparameters())
def test_sgd_update_on_numpy_follows_torch_sgd(shape, seed, hyper):
    gradients = gradient_stream([shape], seed, STEPS)
    (param, _) = make_params([shape], seed)
    theirs = [step[0].numpy() for step in run(torch.optim.SGD([param], **hyper), [param], gradients)]
    point, state = make_params([shape], seed)[0].detach().numpy(), {}
    for step, (grads, expected) in enumerate(zip(gradients, theirs), start=1):
        point, state = sgd_update(point, grads[0].numpy(), state, **hyper)
        np.testing.assert_allclose(point, expected, **FLOAT64, err_msg=f"step {step}")


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99])
def test_heavy_ball_with_lr_eta_is_ema_momentum_with_lr_eta_over_one_minus_beta(beta):
    """torch.optim.SGD(lr=eta, momentum=beta) and EMA momentum with lr eta/(1-beta) visit the same points."""
    landscape, eta, steps = rotated_quadratic(20.0), 0.05, 300
    param = torch.tensor(landscape.start, dtype=torch.float64, requires_grad=True)
    heavy_ball = torch.optim.SGD([param], lr=eta, momentum=beta)
    ema_point, velocity = np.array(landscape.start), np.zeros(2)
    unscaled_point, unscaled_velocity = ema_point.copy(), velocity.copy()
    for step in range(1, steps + 1):
        param.grad = torch.from_numpy(landscape.grad(param.detach().numpy().copy()))
        heavy_ball.step()
        ema_point, velocity = ema_momentum_step(ema_point, landscape.grad(ema_point), velocity, eta / (1 - beta), beta)
        np.testing.assert_allclose(ema_point, param.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=f"step {step}")
        unscaled_point, unscaled_velocity = ema_momentum_step(
            unscaled_point, landscape.grad(unscaled_point), unscaled_velocity, eta, beta
        )
    # Without the 1/(1-beta) the paths part: the equivalence above is not a property of any lr.
    assert np.linalg.norm(unscaled_point - ema_point) > 0.1


def test_sgd_trains_a_small_mlp_on_mnist1d_shaped_data(full_batch_losses):
    losses = full_batch_losses(lambda parameters: SGD(parameters, lr=0.1, momentum=0.9, weight_decay=1e-4))
    assert losses[-1] < 0.5 * losses[0], losses[::10]
