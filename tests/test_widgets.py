"""Lesson 01's view: the paths are the student's rules at the sliders' values (tests/test_widgets_all_views.py
holds what every view must do)."""

import numpy as np
import pytest

from course.views import momentum_explorer
from reference_impl import landscapes
from reference_impl.optim import sgd


def not_implemented(*args):
    raise NotImplementedError()


def test_paths_follow_the_slider_values():
    explorer = momentum_explorer()
    explorer.controls["lr"].value = 0.3
    explorer.controls["momentum"].value = 0.5
    explorer.controls["kappa"].value = 100.0
    lr, beta, kappa = (explorer.controls[name].value for name in ("lr", "momentum", "kappa"))
    expected = landscapes.descend(
        landscapes.quadratic(kappa), lambda p, g, b: sgd.heavy_ball_step(p, g, b, lr, beta), steps=explorer.steps
    )
    np.testing.assert_allclose(explorer.paths["heavy-ball momentum"], expected)


def test_unanswered_exercises_fall_back_to_the_reference(capsys):
    explorer = momentum_explorer(not_implemented, not_implemented, not_implemented)
    assert capsys.readouterr().out.count("not implemented yet") == 3
    reference = momentum_explorer()
    for label, path in reference.paths.items():
        np.testing.assert_array_equal(explorer.paths[label], path)


def test_student_code_drives_the_view():
    # A wrong gradient step (ascent) must show up in the picture, not be replaced by the reference.
    explorer = momentum_explorer(gd_step=lambda p, g, lr: p + lr * g)
    start = np.array(explorer.landscape_for(explorer.values()).start)
    distance = np.linalg.norm(explorer.paths["gradient descent"][-1])
    assert distance > np.linalg.norm(start)


def test_broken_student_code_is_not_hidden():
    def broken(param, grad, lr):
        raise ValueError("shapes do not match")

    with pytest.raises(ValueError, match="shapes do not match"):
        momentum_explorer(gd_step=broken)


def test_legend_names_the_methods():
    explorer = momentum_explorer()
    legend_labels = [text.get_text() for text in explorer.path_axes.get_legend().get_texts()]
    assert legend_labels == ["minimum", "gradient descent", "heavy-ball momentum", "Nesterov"]
    assert explorer.controls["lr"].description == "learning rate"
