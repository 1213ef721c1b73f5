"""The interactive views: sliders redraw the figure and the readout, student code drives them."""
import numpy as np
import pytest

from reference_impl import landscapes
from reference_impl.optim import sgd
from reference_impl.widgets import momentum_explorer


def not_implemented(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("control, new_value", [("lr", 1.5), ("momentum", 0.95), ("kappa", 300.0)])
def test_each_slider_redraws_plot_and_readout(control, new_value):
    explorer = momentum_explorer()
    image, readout = explorer.image.value, explorer.readout.value
    explorer.controls[control].value = new_value
    assert explorer.image.value != image
    assert explorer.readout.value != readout


def test_paths_follow_the_slider_values():
    explorer = momentum_explorer()
    explorer.controls["lr"].value = 0.3
    explorer.controls["momentum"].value = 0.5
    explorer.controls["kappa"].value = 100.0
    lr, beta, kappa = (explorer.controls[name].value for name in ("lr", "momentum", "kappa"))
    expected = landscapes.descend(landscapes.quadratic(kappa), lambda p, g, b: sgd.heavy_ball_step(p, g, b, lr, beta),
                                  steps=explorer.steps)
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


def test_plots_are_labelled():
    explorer = momentum_explorer()
    for axes in (explorer.path_axes, explorer.loss_axes):
        assert axes.get_title() and axes.get_xlabel() and axes.get_ylabel()
    legend_labels = [text.get_text() for text in explorer.path_axes.get_legend().get_texts()]
    assert legend_labels == ["minimum", "gradient descent", "heavy-ball momentum", "Nesterov"]
    assert explorer.controls["lr"].description == "learning rate"
