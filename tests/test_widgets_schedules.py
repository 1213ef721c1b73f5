"""Lesson 04's schedule explorer: each schedule's controls shape its lr, student code drives it."""

import numpy as np
import pytest

from course.experiments.schedules import mlp_training_losses
from course.views import schedule_explorer
from reference_impl import schedules

STEPS = 120


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.fixture
def make_explorer(mnist1d_like):
    def make(**functions):
        return schedule_explorer(data=mnist1d_like, steps=STEPS, **functions)

    return make


def slider_values(control):
    """Two values in the slider's range, different from its current value."""
    low, high = (10**control.min, 10**control.max) if hasattr(control, "base") else (control.min, control.max)
    return [value for value in (low, high) if value != control.value][:1]


def test_each_schedule_shows_its_own_controls_and_each_slider_shapes_its_lr(make_explorer):
    explorer = make_explorer()
    for schedule in explorer.menu.options:
        explorer.menu.value = schedule
        (row,) = explorer._parameters.children
        assert set(row.children) == {*explorer.controls.values(), *explorer.options.values()}
        for name, control in explorer.controls.items():
            lrs, _ = explorer.curves()
            (control.value,) = slider_values(control)
            assert not np.array_equal(explorer.curves()[0], lrs), f"{schedule}: {name} does not change the lr"


def test_curves_follow_the_controls_and_momentum_cycles_only_for_one_cycle(make_explorer):
    explorer = make_explorer()
    explorer.controls["max_lr"].value = 0.2
    explorer.controls["pct_start"].value = 0.25
    explorer.options["three_phase"].value = True
    lrs, momenta = explorer.curves()
    expected = np.array(
        [schedules.one_cycle(step, 0.2, STEPS, pct_start=0.25, three_phase=True) for step in range(STEPS)]
    )
    np.testing.assert_allclose(np.column_stack([lrs, momenta]), expected)
    assert explorer.momentum_axes.get_visible()
    explorer.menu.value = "warm restarts (SGDR)"
    explorer.controls["T_0"].value, explorer.controls["T_mult"].value = 10, 2
    lrs, momenta = explorer.curves()
    lr = explorer.controls["lr"].value
    np.testing.assert_allclose(lrs, [schedules.cosine_warm_restarts_lr(step, lr, 10, 2) for step in range(STEPS)])
    assert momenta is None and not explorer.momentum_axes.get_visible()


def test_loss_panel_shows_training_under_the_schedule(make_explorer, mnist1d_like):
    explorer = make_explorer()
    lrs, momenta = explorer.curves()
    expected = mlp_training_losses(mnist1d_like, lrs, momenta)
    assert np.allclose(explorer._loss_line.get_ydata()[-1], expected[-20:].mean())
    assert "final training loss" in explorer.readout.value


def test_small_mlp_learns_and_reports_divergence(mnist1d_like):
    steps = 200
    losses = mlp_training_losses(mnist1d_like, np.full(steps, 0.05), np.full(steps, 0.9))
    assert losses[-20:].mean() < 0.7 * losses[:20].mean()
    np.testing.assert_array_equal(losses, mlp_training_losses(mnist1d_like, np.full(steps, 0.05), np.full(steps, 0.9)))
    diverged = mlp_training_losses(mnist1d_like, np.full(steps, 1e4), np.full(steps, 0.9))
    assert np.isnan(diverged[-1]) and np.isfinite(diverged[0])


def test_a_diverging_schedule_is_reported(make_explorer):
    explorer = make_explorer()
    explorer.menu.value = "constant"
    explorer.controls["lr"].value = 10 ** explorer.controls["lr"].max  # the largest lr the slider offers
    assert "diverged" in explorer.readout.value


def test_unanswered_exercises_fall_back_to_the_reference(make_explorer, capsys):
    names = ["step_lr", "exponential_lr", "cosine_annealing_lr", "cosine_warm_restarts_lr", "one_cycle", "with_warmup"]
    explorer = make_explorer(**{name: not_implemented for name in names})
    assert capsys.readouterr().out.count("not implemented yet") == len(names)
    reference = make_explorer()
    for schedule in explorer.menu.options:
        explorer.menu.value = reference.menu.value = schedule
        for got, want in zip(explorer.curves(), reference.curves()):
            np.testing.assert_array_equal(got, want)


def test_student_code_drives_the_view(make_explorer):
    explorer = make_explorer(step_lr=lambda step, base_lr, step_size, gamma=0.1: base_lr * 2.0)
    explorer.menu.value = "step decay"
    assert np.allclose(explorer.curves()[0], 2 * explorer.controls["lr"].value)


def test_broken_student_code_is_not_hidden(make_explorer):
    def broken(step, max_lr, total_steps, **settings):
        raise ValueError("phase index out of range")

    with pytest.raises(ValueError, match="phase index out of range"):
        make_explorer(one_cycle=broken)


def test_legends_show_momentum_only_when_it_cycles(make_explorer):
    explorer = make_explorer()
    assert explorer.momentum_axes.get_ylabel() == "momentum"
    assert explorer.menu.value == "one-cycle"
    assert [text.get_text() for text in explorer.lr_axes.get_legend().get_texts()] == ["learning rate", "momentum"]
    assert [text.get_text() for text in explorer.loss_axes.get_legend().get_texts()] == [
        "constant lr 0.1",
        "this schedule",
    ]
    explorer.menu.value = "cosine"
    assert [text.get_text() for text in explorer.lr_axes.get_legend().get_texts()] == ["learning rate"]
