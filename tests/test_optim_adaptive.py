"""RMSprop, Adam and AdamW (rules, classes, foreach path) against torch.optim; the lesson's checks accept them.
Lesson 02's graded cells against its known mistakes: test_lesson_mistakes.py."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_optim_sgd import FLOAT64, SEEDS, SHAPES, STEPS, assert_same_path, gradient_stream, make_params, run, zero_or

from autograder import checks
from autograder.mistakes import adaptive as mistakes
from reference_impl.optim import (
    Adam,
    AdamW,
    RMSprop,
    adam_step,
    adam_update,
    adamw_step,
    adamw_update,
    amsgrad_step,
    rmsprop_step,
    rmsprop_update,
)

TORCH = {RMSprop: torch.optim.RMSprop, Adam: torch.optim.Adam, AdamW: torch.optim.AdamW}
RULES = {RMSprop: rmsprop_update, Adam: adam_update, AdamW: adamw_update}


@st.composite
def rmsprop_hyperparameters(draw):
    return {
        "lr": draw(st.floats(1e-4, 0.1)),
        "alpha": draw(st.floats(0.5, 0.999)),
        "eps": draw(st.floats(1e-8, 1e-1)),
        "weight_decay": draw(zero_or(st.floats(0.0, 0.1))),
        "momentum": draw(zero_or(st.floats(0.05, 0.99))),
        "centered": draw(st.booleans()),
    }


@st.composite
def adam_hyperparameters(draw):
    return {
        "lr": draw(st.floats(1e-4, 0.1)),
        "betas": (draw(st.floats(0.0, 0.99)), draw(st.floats(0.5, 0.9999))),
        "eps": draw(st.floats(1e-8, 1e-1)),
        "weight_decay": draw(zero_or(st.floats(0.0, 0.1))),
        "amsgrad": draw(st.booleans()),
    }


HYPERPARAMETERS = {RMSprop: rmsprop_hyperparameters(), Adam: adam_hyperparameters(), AdamW: adam_hyperparameters()}
CLASSES = pytest.mark.parametrize("ours", [RMSprop, Adam, AdamW], ids=lambda cls: cls.__name__)
FOREACH = pytest.mark.parametrize("foreach", [False, True], ids=["per-tensor", "foreach"])


@CLASSES
@FOREACH
@settings(max_examples=20)
@given(data=st.data(), shapes=SHAPES, seed=SEEDS)
def test_follows_torch_step_by_step(ours, foreach, data, shapes, seed):
    """Two parameter groups: the constructor's hyperparameters, and a second group overriding all of them."""
    hyper, group_hyper = data.draw(HYPERPARAMETERS[ours]), data.draw(HYPERPARAMETERS[ours])
    gradients = gradient_stream(shapes, seed, STEPS)
    paths = []
    for optimizer_class, options in ((ours, {"foreach": foreach}), (TORCH[ours], {})):
        params = make_params(shapes, seed)
        half = len(params) // 2
        groups = [{"params": params[:half]}, {"params": params[half:], **group_hyper}]
        paths.append(run(optimizer_class(groups, **hyper, **options), params, gradients))
    assert_same_path(*paths)
    untouched = make_params(shapes, seed)[-1]
    torch.testing.assert_close(paths[0][-1][-1], untouched, rtol=0, atol=0)


@CLASSES
@settings(max_examples=10)
@given(data=st.data(), shapes=SHAPES, seed=SEEDS, save_at=st.integers(1, STEPS - 1), foreach=st.booleans())
def test_state_dict_round_trips_with_torch(ours, data, shapes, seed, save_at, foreach):
    hyper = data.draw(HYPERPARAMETERS[ours])
    gradients = gradient_stream(shapes, seed, STEPS)
    params = make_params(shapes, seed)
    uninterrupted = run(TORCH[ours](params, **hyper), params, gradients)
    ours_options = {"foreach": foreach}
    for saver, loader in ((ours, TORCH[ours]), (TORCH[ours], ours)):
        params = make_params(shapes, seed)
        optimizer = saver(params, **hyper, **(ours_options if saver is ours else {}))
        first_part = run(optimizer, params, gradients[:save_at])
        saved = copy.deepcopy(optimizer.state_dict())  # torch updates its state in place later on
        fresh = [param.detach().clone().requires_grad_() for param in params]
        # A different lr at construction: the state dict's hyperparameters must win.
        resumed = loader(fresh, **{**hyper, "lr": hyper["lr"] / 2}, **(ours_options if loader is ours else {}))
        resumed.load_state_dict(saved)
        second_part = run(resumed, fresh, gradients[save_at:])
        assert_same_path(first_part + second_part, uninterrupted)


@CLASSES
@settings(max_examples=15)
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), seed=SEEDS)
def test_pure_rule_on_numpy_follows_torch(ours, data, shape, seed):
    hyper = data.draw(HYPERPARAMETERS[ours])
    gradients = gradient_stream([shape], seed, STEPS)
    (param, _) = make_params([shape], seed)
    torch_optimizer = TORCH[ours]([param], **hyper)
    theirs = [step[0].numpy() for step in run(torch_optimizer, [param], gradients)]
    point, state = make_params([shape], seed)[0].detach().numpy(), {}
    for step, (grads, expected) in enumerate(zip(gradients, theirs), start=1):
        point, state = RULES[ours](point, grads[0].numpy(), state, **hyper)
        np.testing.assert_allclose(point, expected, **FLOAT64, err_msg=f"step {step}")
    assert set(state) == set(torch_optimizer.state[param])  # the same keys, so state_dicts are exchangeable


@CLASSES
@FOREACH
def test_a_deep_copied_optimizer_continues_like_torch(ours, foreach):
    """copy.deepcopy and pickling keep what Optimizer.__getstate__ returns: the foreach switch must survive too."""
    shapes, seed, copy_at = [(3,), (2, 2)], 0, 5
    gradients = gradient_stream(shapes, seed, STEPS)
    paths = []
    for optimizer_class, options in ((ours, {"foreach": foreach}), (TORCH[ours], {})):
        params = make_params(shapes, seed)
        optimizer = optimizer_class(params, lr=0.01, **options)
        first_part = run(optimizer, params, gradients[:copy_at])
        params, optimizer = copy.deepcopy((params, optimizer))
        paths.append(first_part + run(optimizer, params, gradients[copy_at:]))
    assert_same_path(*paths)


@CLASSES
def test_foreach_leaves_the_gradient_untouched(ours):
    """With L2 weight decay the gradient plus λp is a new tensor: p.grad itself must not change."""
    params = make_params([(3, 2)], 0)[:1]
    params[0].grad = torch.ones(3, 2, dtype=torch.float64)
    ours(params, lr=0.1, weight_decay=0.5, foreach=True).step()
    torch.testing.assert_close(params[0].grad, torch.ones(3, 2, dtype=torch.float64), rtol=0, atol=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"lr": -0.1}, {"eps": -1.0}, {"weight_decay": -1e-4}, {"betas": (1.0, 0.999)}, {"betas": (0.9, -0.1)}],
    ids=str,
)
def test_adam_rejects_the_hyperparameters_torch_rejects(kwargs):
    param = torch.zeros(2, requires_grad=True)
    for optimizer_class in (torch.optim.Adam, Adam, torch.optim.AdamW, AdamW):
        with pytest.raises(ValueError):
            optimizer_class([param], **kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"lr": -0.1}, {"alpha": -0.5}, {"eps": -1.0}, {"momentum": -0.1}, {"weight_decay": -1e-4}], ids=str
)
def test_rmsprop_rejects_the_hyperparameters_torch_rejects(kwargs):
    param = torch.zeros(2, requires_grad=True)
    for optimizer_class in (torch.optim.RMSprop, RMSprop):
        with pytest.raises(ValueError):
            optimizer_class([param], **kwargs)


# --- the lesson's rules on NumPy arrays, against numbers worked out by hand ----------------------------
P, G = np.array([1.0, -2.0]), np.array([0.5, 4.0])
FRESH = {"step": 0, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}


def test_rmsprop_step_by_hand():
    # v = 0.9 * [1, 1] + 0.1 * [0.25, 16] = [0.925, 2.5];  p -= 0.1 * g / (sqrt(v) + 0.01)
    param, square_avg = rmsprop_step(P, G, np.ones(2), lr=0.1, alpha=0.9, eps=0.01)
    np.testing.assert_allclose(square_avg, [0.925, 2.5])
    np.testing.assert_allclose(param, P - 0.1 * G / (np.sqrt([0.925, 2.5]) + 0.01))


def test_adams_first_step_has_length_lr_in_every_coordinate():
    """m̂₁ = g and v̂₁ = g², so with ε = 0 the first step is lr·sign(g) whatever β₁, β₂ and the gradient's scale."""
    for beta1, beta2 in [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]:
        param, state = adam_step(P, G * 1e-3, FRESH, lr=0.1, beta1=beta1, beta2=beta2, eps=0.0)
        np.testing.assert_allclose(param, P - 0.1 * np.sign(G))
        assert state["step"] == 1


def test_adamw_decays_before_the_step_and_adam_l2_does_not_equal_it():
    param, _ = adamw_step(P, G, FRESH, 0.1, 0.9, 0.999, 1e-8, weight_decay=0.5)
    np.testing.assert_allclose(param, P * 0.95 - 0.1 * np.sign(G), rtol=1e-7)
    l2_param, _ = adam_update(P, G, {}, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.5)
    assert not np.allclose(l2_param, param)


@pytest.mark.parametrize(
    "call",
    [
        lambda p, g, s: rmsprop_step(p, g, s["exp_avg"], 0.1, 0.9, 1e-8),
        lambda p, g, s: rmsprop_update(
            p,
            g,
            {"square_avg": s["exp_avg"]},
            lr=0.1,
            alpha=0.9,
            eps=1e-8,
            weight_decay=0.1,
            momentum=0.9,
            centered=True,
        ),
        lambda p, g, s: adam_step(p, g, s, 0.1, 0.9, 0.999, 1e-8),
        lambda p, g, s: amsgrad_step(p, g, s, 0.1, 0.9, 0.999, 1e-8),
        lambda p, g, s: adamw_step(p, g, s, 0.1, 0.9, 0.999, 1e-8, 0.1),
    ],
    ids=["rmsprop_step", "rmsprop_update", "adam_step", "amsgrad_step", "adamw_step"],
)
def test_rules_do_not_modify_their_inputs(call):
    state = {"step": 3.0, "exp_avg": np.array([0.3, -0.7]), "exp_avg_sq": np.array([0.2, 0.1])}
    original = copy.deepcopy(state)
    param, grad = P.copy(), G.copy()
    call(param, grad, state)
    np.testing.assert_array_equal(param, P)
    np.testing.assert_array_equal(grad, G)
    for key, value in original.items():
        np.testing.assert_array_equal(state[key], value)


@pytest.mark.parametrize("ours", [Adam, AdamW, RMSprop], ids=lambda cls: cls.__name__)
def test_trains_a_small_mlp_on_mnist1d_shaped_data(ours, full_batch_losses):
    losses = full_batch_losses(lambda parameters: ours(parameters, lr=3e-3, foreach=True))
    assert losses[-1] < 0.5 * losses[0], losses[::10]


# --- the lesson's hidden tests catch each known wrong answer and name it --------------------------------
# These cases are drawn the way the hidden tests in solutions/02_adaptive draw theirs.


def random_case(rng):
    shape = tuple(rng.integers(1, 5, size=rng.integers(1, 4)))
    scale = float(10 ** rng.uniform(-2, 1))
    hyper = {
        "lr": float(10 ** rng.uniform(-3, -1)),
        "beta1": float(rng.uniform(0.5, 0.99)),
        "beta2": float(rng.uniform(0.9, 0.9999)),
        "eps": float(10 ** rng.uniform(-4, -1)),
        "weight_decay": float(10 ** rng.uniform(-3, -1)),
        "alpha": float(rng.uniform(0.5, 0.999)),
    }
    return hyper, rng.normal(size=shape), [scale * rng.normal(size=shape) for _ in range(20)]


def fresh_state(shape):
    return {"step": 0, "exp_avg": np.zeros(shape), "exp_avg_sq": np.zeros(shape)}


def test_correct_answers_pass_the_same_checks():
    hyper, param, grads = random_case(np.random.default_rng(203))
    args = (hyper["lr"], hyper["beta1"], hyper["beta2"], hyper["eps"], hyper["weight_decay"])
    torch_hyper = {"lr": args[0], "betas": args[1:3], "eps": args[3], "weight_decay": args[4]}
    checks.check_rule_with_state(
        adamw_step,
        checks.torch_rule(torch.optim.AdamW, torch_hyper),
        param=param,
        grads=grads,
        hyper=args,
        state=fresh_state(param.shape),
        mistakes=mistakes.ADAMW,
    )
    checks.check_rule_with_state(
        adam_step,
        checks.torch_rule(torch.optim.Adam, torch_hyper | {"weight_decay": 0}),
        param=param,
        grads=grads,
        hyper=args[:4],
        state=fresh_state(param.shape),
    )


def test_a_state_changed_in_place_is_reported():
    def in_place(param, grad, state, lr, beta1, beta2, eps):
        state["exp_avg"] *= beta1
        return adam_step(param, grad, state, lr, beta1, beta2, eps)

    with pytest.raises(AssertionError, match=r"changed its input `state\['exp_avg'\]` in place"):
        checks.check_rule_with_state(
            in_place,
            adam_step,
            param=P,
            grads=[G, G],
            hyper=(0.1, 0.9, 0.999, 1e-8),
            state={"step": 0, "exp_avg": np.ones(2), "exp_avg_sq": np.ones(2)},
        )
