"""Learning-rate schedules: parity with torch's schedulers at every step, the adapter, the range test,
and the schedule checks. Lesson 04's graded cells against its known mistakes: test_lesson_mistakes.py."""

import functools
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from autograder import checks
from autograder.mistakes import schedules as mistakes
from course.experiments import train_classifier
from reference_impl import schedules
from reference_impl.models import MLP

learning_rates = st.floats(1e-4, 1.0)
gammas = st.floats(0.05, 0.999)


def assert_matches_torch(schedule, make_scheduler, steps, lr, **options):
    checks.check_schedule(
        schedule,
        checks.torch_schedule_values(make_scheduler, steps, lr=lr, **options),
        rtol=1e-9,
        atol=1e-12 * lr,
        names=("learning rate", "momentum") if options.get("with_momentum") else ("learning rate",),
    )


@given(learning_rates, st.integers(1, 20), gammas, st.integers(1, 120))
def test_step_lr_matches_torch(lr, step_size, gamma, steps):
    assert_matches_torch(
        functools.partial(schedules.step_lr, base_lr=lr, step_size=step_size, gamma=gamma),
        lambda opt: lr_scheduler.StepLR(opt, step_size, gamma),
        steps,
        lr,
    )


@given(learning_rates, st.lists(st.integers(1, 100), min_size=1, max_size=5, unique=True), gammas)
def test_multistep_lr_matches_torch(lr, milestones, gamma):
    milestones = sorted(milestones)
    assert_matches_torch(
        functools.partial(schedules.multistep_lr, base_lr=lr, milestones=milestones, gamma=gamma),
        lambda opt: lr_scheduler.MultiStepLR(opt, milestones, gamma),
        110,
        lr,
    )


@given(learning_rates, st.floats(0.5, 0.999), st.integers(1, 150))
def test_exponential_lr_matches_torch(lr, gamma, steps):
    assert_matches_torch(
        functools.partial(schedules.exponential_lr, base_lr=lr, gamma=gamma),
        lambda opt: lr_scheduler.ExponentialLR(opt, gamma),
        steps,
        lr,
    )


@given(learning_rates, st.integers(1, 50), st.floats(0.0, 0.5), st.integers(1, 4))
def test_cosine_annealing_matches_torch_also_past_t_max(lr, T_max, eta_min_fraction, periods):
    eta_min = lr * eta_min_fraction
    assert_matches_torch(
        functools.partial(schedules.cosine_annealing_lr, base_lr=lr, T_max=T_max, eta_min=eta_min),
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max, eta_min),
        periods * T_max + 1,
        lr,
    )


@given(learning_rates, st.integers(1, 15), st.integers(1, 4), st.floats(0.0, 0.5))
def test_warm_restarts_match_torch_across_restarts(lr, T_0, T_mult, eta_min_fraction):
    eta_min = lr * eta_min_fraction
    steps = T_0 * (1 + T_mult + T_mult**2) + 3  # three restarts
    assert_matches_torch(
        functools.partial(schedules.cosine_warm_restarts_lr, base_lr=lr, T_0=T_0, T_mult=T_mult, eta_min=eta_min),
        lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0, T_mult, eta_min),
        steps,
        lr,
    )


def test_restart_position_counts_cycles_exactly():
    assert [schedules.restart_position(step, 10, 2) for step in (0, 9, 10, 29, 30, 69, 70)] == [
        (0, 10),
        (9, 10),
        (0, 20),
        (19, 20),
        (0, 40),
        (39, 40),
        (0, 80),
    ]


@st.composite
def one_cycle_settings(draw):
    return dict(
        max_lr=draw(learning_rates),
        total_steps=draw(st.integers(4, 300)),
        pct_start=draw(st.floats(0.05, 0.5)),
        anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        div_factor=draw(st.floats(1.5, 100)),
        final_div_factor=draw(st.floats(1.0, 1e5)),
        three_phase=draw(st.booleans()),
        base_momentum=draw(st.floats(0.5, 0.85)),
        max_momentum=draw(st.floats(0.86, 0.99)),
    )


@given(one_cycle_settings(), st.sampled_from(["SGD", "Adam"]))
def test_one_cycle_lr_and_momentum_match_torch_at_every_step(settings, optimizer_name):
    options = (
        {"optimizer_class": torch.optim.SGD, "momentum": 0.9}
        if optimizer_name == "SGD"
        else {"optimizer_class": torch.optim.Adam}
    )
    assert_matches_torch(
        functools.partial(schedules.one_cycle, **settings),
        lambda opt: lr_scheduler.OneCycleLR(opt, **settings),
        settings["total_steps"],
        settings["max_lr"],
        with_momentum=True,
        **options,
    )


def test_one_cycle_ends_at_its_smallest_lr_with_momentum_back_at_its_maximum():
    lr, momentum = schedules.one_cycle(99, 1.0, 100, div_factor=10.0, final_div_factor=100.0)
    assert lr == pytest.approx(1e-3) and momentum == pytest.approx(0.95)


def test_anneal_rejects_an_unknown_strategy():
    with pytest.raises(ValueError, match="'cos' or 'linear'"):
        schedules.anneal(1.0, 0.0, 0.5, "exponential")


TORCH_PIECES = {
    "cosine": (
        lambda lr: functools.partial(schedules.cosine_annealing_lr, base_lr=lr, T_max=17),
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, 17),
    ),
    "step": (
        lambda lr: functools.partial(schedules.step_lr, base_lr=lr, step_size=4, gamma=0.5),
        lambda opt: lr_scheduler.StepLR(opt, 4, 0.5),
    ),
    "exponential": (
        lambda lr: functools.partial(schedules.exponential_lr, base_lr=lr, gamma=0.9),
        lambda opt: lr_scheduler.ExponentialLR(opt, 0.9),
    ),
    "multistep": (
        lambda lr: functools.partial(schedules.multistep_lr, base_lr=lr, milestones=[3, 9], gamma=0.3),
        lambda opt: lr_scheduler.MultiStepLR(opt, [3, 9], 0.3),
    ),
}


@given(learning_rates, st.integers(1, 20), st.floats(0.01, 1.0), st.sampled_from(sorted(TORCH_PIECES)))
def test_warmup_matches_torch_sequential_lr(lr, warmup_steps, start_factor, piece):
    schedule, make_scheduler = TORCH_PIECES[piece]
    assert_matches_torch(
        schedules.with_warmup(schedule(lr), warmup_steps, start_factor),
        lambda opt: lr_scheduler.SequentialLR(
            opt,
            [lr_scheduler.LinearLR(opt, start_factor, total_iters=warmup_steps), make_scheduler(opt)],
            [warmup_steps],
        ),
        warmup_steps + 40,
        lr,
    )


@given(learning_rates, st.lists(st.integers(1, 15), min_size=2, max_size=2))
def test_joined_pieces_match_torch_sequential_lr(lr, gaps):
    milestones = [gaps[0], gaps[0] + gaps[1]]
    names = ["step", "exponential", "cosine"]
    assert_matches_torch(
        schedules.join([TORCH_PIECES[name][0](lr) for name in names], milestones),
        lambda opt: lr_scheduler.SequentialLR(opt, [TORCH_PIECES[name][1](opt) for name in names], milestones),
        milestones[-1] + 30,
        lr,
    )


def test_join_needs_one_milestone_between_each_pair_of_schedules():
    with pytest.raises(ValueError, match="3 schedules need 2 milestones"):
        schedules.join([schedules.constant_lr] * 3, [5])


def test_constant_lr_is_constant():
    assert {schedules.constant_lr(step, 0.3) for step in range(10)} == {0.3}


@pytest.mark.parametrize("optimizer_class, options", [(torch.optim.SGD, {"momentum": 0.9}), (torch.optim.Adam, {})])
def test_scheduled_lr_drives_an_optimizer_like_one_cycle_lr(optimizer_class, options):
    settings = dict(max_lr=0.3, total_steps=40, pct_start=0.25, three_phase=True)
    schedule = functools.partial(schedules.one_cycle, **settings)
    expected = checks.torch_schedule_values(
        lambda opt: lr_scheduler.OneCycleLR(opt, **settings),
        40,
        lr=0.3,
        optimizer_class=optimizer_class,
        with_momentum=True,
        **options,
    )
    adapted = checks.torch_schedule_values(
        lambda opt: schedules.ScheduledLR(opt, lambda t: schedule(t)[0], lambda t: schedule(t)[1]),
        40,
        lr=0.3,
        optimizer_class=optimizer_class,
        with_momentum=True,
        **options,
    )
    np.testing.assert_allclose(adapted, expected, rtol=1e-12)


def test_scheduled_lr_gives_each_group_its_schedule_and_survives_a_state_dict_round_trip():
    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    optimizer = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=1.0, momentum=0.9)
    schedule_pair = [
        functools.partial(schedules.exponential_lr, base_lr=1.0, gamma=0.5),
        functools.partial(schedules.step_lr, base_lr=0.1, step_size=2),
    ]
    scheduler = schedules.ScheduledLR(optimizer, schedule_pair)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    saved = pickle.loads(pickle.dumps(scheduler.state_dict()))  # lambdas and partials are not saved
    restored = schedules.ScheduledLR(optimizer, schedule_pair)
    restored.load_state_dict(saved)
    optimizer.step()
    restored.step()
    assert [group["lr"] for group in optimizer.param_groups] == pytest.approx([0.5**4, 0.1 * 0.1**2])


def test_train_classifier_steps_the_scheduler_after_every_optimizer_step(mnist1d_like):
    torch.manual_seed(0)
    model = MLP((40, 16, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = schedules.ScheduledLR(optimizer, functools.partial(schedules.exponential_lr, base_lr=0.1, gamma=0.9))
    train_classifier(model, optimizer, mnist1d_like, steps=7, scheduler=scheduler)
    assert scheduler.last_epoch == 7
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9**7)


def bowl_loss(lr, best_lr=0.1):
    """A made-up range-test curve: falls as the lr grows towards best_lr, explodes beyond."""
    distance = np.log10(lr / best_lr)
    return 2.0 - 1.0 / (1 + np.exp(-3 * (distance + 2))) + np.expm1(4 * max(distance, 0.0))


def test_range_test_sweeps_geometrically_stops_at_divergence_and_suggests_a_tenth_of_the_best():
    result = schedules.lr_range_test(bowl_loss, start_lr=1e-5, end_lr=10.0, num_steps=61, smoothing=0.0)
    np.testing.assert_allclose(result["lrs"], np.logspace(-5, 1, 61)[: len(result["lrs"])])
    assert len(result["lrs"]) < 61 and result["losses"][-1] > 4 * result["losses"].min()
    assert result["suggested_lr"] == pytest.approx(result["lrs"][np.argmin(result["losses"])] / 10)
    assert 1e-3 < result["suggested_lr"] < 3e-2


def test_range_test_smoothing_is_bias_corrected():
    result = schedules.lr_range_test(lambda lr: 3.0, num_steps=5, smoothing=0.9)
    np.testing.assert_allclose(result["losses"], 3.0)


def test_range_test_on_a_real_model_finds_a_finite_lr_without_touching_the_caller_rng(mnist1d_like):
    torch.manual_seed(0)
    model = MLP((40, 32, 10))
    loss_at_lr = schedules.minibatch_trainer(
        model, torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9), mnist1d_like, batch_size=64
    )
    state = torch.get_rng_state()
    result = schedules.lr_range_test(loss_at_lr, start_lr=1e-4, end_lr=100.0, num_steps=80)
    assert torch.equal(state, torch.get_rng_state())
    assert np.isfinite(result["suggested_lr"]) and 1e-4 < result["suggested_lr"] < 10


# --- The schedule checks themselves -------------------------------------------------------------


def test_check_schedule_names_the_step_the_value_and_the_mistake():
    expected = [schedules.step_lr(step, 0.1, 3) for step in range(10)]
    wrong = mistakes.STEP_LR["count epochs from 1, decaying one step early (gamma^((step + 1) // step_size))"]
    with pytest.raises(
        AssertionError,
        match=r"at step 2 your learning rate is 0.01, expected 0.1\. "
        r"That is what you get if you count epochs from 1",
    ):
        checks.check_schedule(wrong, expected, kwargs=dict(base_lr=0.1, step_size=3), mistakes=mistakes.STEP_LR)


def test_check_schedule_reports_a_missing_return_and_a_wrong_shape():
    with pytest.raises(AssertionError, match="returned None at step 0"):
        checks.check_schedule(lambda step: None, [1.0])
    with pytest.raises(AssertionError, match="must return a tuple of 2 values"):
        checks.check_schedule(lambda step: 1.0, [(1.0, 0.9)], names=("learning rate", "momentum"))
    with pytest.raises(AssertionError, match="at step 1 your momentum is 0.8"):
        checks.check_schedule(
            lambda step: (1.0, 0.9 - 0.1 * step), [(1.0, 0.9), (1.0, 0.9)], names=("learning rate", "momentum")
        )


def test_check_function_names_the_entry_that_differs():
    reference = lambda: {"lrs": np.arange(3.0), "suggested_lr": 0.1}  # noqa: E731
    checks.check_function(reference, reference)
    with pytest.raises(AssertionError, match="'suggested_lr' is 1.5, expected 0.1. That is what you get if you x"):
        checks.check_function(
            lambda: {"lrs": np.arange(3.0), "suggested_lr": 1.5},
            reference,
            mistakes={"y": lambda: None, "x": lambda: {"lrs": np.arange(3.0), "suggested_lr": 1.5}},
        )
    with pytest.raises(AssertionError, match="'lrs' has shape \\(2,\\), expected \\(3,\\)"):
        checks.check_function(lambda: {"lrs": np.arange(2.0), "suggested_lr": 0.1}, reference)
    with pytest.raises(AssertionError, match="has no entry 'suggested_lr'"):
        checks.check_function(lambda: {"lrs": np.arange(3.0)}, reference)
    with pytest.raises(AssertionError, match=r"the result\[1\] is 3.5, expected 2.5"):
        checks.check_function(lambda: (1.0, 3.5), lambda: (1.0, 2.5))
