"""Lesson 02's view: student code drives it, step sizes are what the paths imply."""

import numpy as np

from course.views import adaptive_explorer
from course.views.base import effective_step_sizes
from reference_impl import landscapes
from reference_impl.optim import adam, rmsprop


def not_implemented(*args):
    raise NotImplementedError()


def test_paths_follow_the_slider_values():
    explorer = adaptive_explorer()
    for name, value in {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3, "kappa": 50.0}.items():
        explorer.controls[name].value = value
    lr, beta1, beta2, eps, kappa = (explorer.controls[name].value for name in ("lr", "beta1", "beta2", "eps", "kappa"))
    bowl = landscapes.quadratic(kappa)
    fresh = {"step": 0, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}
    expected_adam = landscapes.descend(
        bowl, lambda p, g, s: adam.adam_step(p, g, s, lr, beta1, beta2, eps), explorer.steps, state=fresh
    )
    expected_rmsprop = landscapes.descend(
        bowl, lambda p, g, v: rmsprop.rmsprop_step(p, g, v, lr, beta2, eps), explorer.steps, state=np.zeros(2)
    )
    np.testing.assert_allclose(explorer.paths["Adam"], expected_adam)
    np.testing.assert_allclose(explorer.paths["RMSprop (ρ = β₂)"], expected_rmsprop)


def test_adam_beats_momentum_on_the_badly_scaled_bowl_but_not_on_the_ravine():
    """Per-coordinate scaling undoes an axis-aligned bad scaling only."""

    def final_losses(explorer):
        landscape = explorer.landscape_for(explorer.values())
        return {label: landscape.loss(path[-1]) for label, path in explorer.paths.items()}

    bowl = final_losses(adaptive_explorer())
    assert bowl["Adam"] < 0.01 * bowl["SGD-momentum (EMA, β₁)"]
    ravine = final_losses(adaptive_explorer(surface=landscapes.rotated_quadratic))
    assert ravine["Adam"] > 0.01 * ravine["SGD-momentum (EMA, β₁)"]


def test_step_size_panel_shows_gradient_descent_as_a_constant_lr():
    bowl = landscapes.quadratic(30.0)
    path = landscapes.descend(bowl, lambda p, g, s: (p - 0.2 * g, s), steps=20)
    np.testing.assert_allclose(effective_step_sizes(bowl, path), 0.2, rtol=1e-9)
    explorer = adaptive_explorer()
    lines = explorer._step_size_lines["Adam"]
    landscape = explorer.landscape_for(explorer.values())
    np.testing.assert_allclose(lines[0].get_ydata(), effective_step_sizes(landscape, explorer.paths["Adam"])[:, 0])


def test_unanswered_exercises_fall_back_to_the_reference(capsys):
    explorer = adaptive_explorer(not_implemented, not_implemented)
    assert capsys.readouterr().out.count("not implemented yet") == 2
    reference = adaptive_explorer()
    for label, path in reference.paths.items():
        np.testing.assert_array_equal(explorer.paths[label], path)


def test_student_code_drives_the_view():
    def uncorrected_adam(param, grad, state, lr, beta1, beta2, eps):
        new_param, new_state = adam.adam_step(param, grad, state, lr, beta1, beta2, eps)
        return new_param, {**new_state, "step": 1e9}  # bias corrections ~ 1 from the second step on

    explorer = adaptive_explorer(adam_step=uncorrected_adam)
    assert not np.allclose(explorer.paths["Adam"], adaptive_explorer().paths["Adam"])


def test_legend_and_sliders_name_the_methods_and_hyperparameters():
    explorer = adaptive_explorer()
    legend_labels = [text.get_text() for text in explorer.path_axes.get_legend().get_texts()]
    assert legend_labels == ["minimum", "SGD-momentum (EMA, β₁)", "RMSprop (ρ = β₂)", "Adam"]
    assert {explorer.controls[name].description for name in ("beta1", "beta2", "eps")} == {"β₁", "β₂", "ε"}
