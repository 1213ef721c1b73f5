"""Lesson 03's view: the mode toggle shows the other mode's outputs, student code drives it, BN's invariances show."""

import numpy as np
import pytest

from course.experiments.batch_norm import batch_norm_training_pass, hidden_pre_activations, train_eval_gap
from course.views import batch_norm_explorer
from course.views.batch_norm import BatchNormExplorer
from reference_impl import norms


@pytest.fixture(scope="module")
def values(mnist1d_like_module):
    return hidden_pre_activations(mnist1d_like_module, count=512)


@pytest.fixture(scope="module")
def mnist1d_like_module():
    rng = np.random.default_rng(7)
    return {"x": rng.standard_normal((512, 40)).astype(np.float32)}


def not_implemented(*args):
    raise NotImplementedError()


def test_mode_toggle_switches_to_the_evaluation_outputs(values):
    explorer = BatchNormExplorer(norms.batch_norm, values)
    explorer.controls["batch_size"].value = 4
    train_outputs = explorer.outputs.copy()
    explorer.options["mode"].value = "eval"
    _gap, expected_train, expected_eval = train_eval_gap(norms.batch_norm, values, 4)
    np.testing.assert_allclose(train_outputs, expected_train)
    np.testing.assert_allclose(explorer.outputs, expected_eval)
    assert "eval mode" in explorer.after_axes.get_title()


def test_pre_activations_are_standardized(values):
    assert values.shape == (512,)
    assert abs(values.mean()) < 1e-9 and abs(values.std() - 1) < 1e-9


def test_outputs_do_not_depend_on_the_input_shift_and_scale(values):
    explorer = BatchNormExplorer(norms.batch_norm, values)
    before = explorer.outputs.copy()
    explorer.controls["shift"].value = -7.5
    explorer.controls["scale"].value = 30.0
    np.testing.assert_allclose(explorer.outputs, before, atol=1e-3)  # not exact: eps is not scaled


def test_gap_shrinks_with_batch_size_and_pairs_normalize_to_plus_minus_one(values):
    gaps = [train_eval_gap(norms.batch_norm, values, size)[0] for size in (2, 16, 128)]
    assert gaps[0] > gaps[1] > gaps[2]
    outputs, _mean, _var = batch_norm_training_pass(norms.batch_norm, values, 2)
    # ±1 exactly without eps; eps pulls pairs of nearly equal values towards 0.
    assert np.all(np.abs(outputs) < 1) and np.median(np.abs(outputs)) > 0.999


def test_training_pass_gathers_running_statistics_of_the_data(values):
    _outputs, running_mean, running_var = batch_norm_training_pass(norms.batch_norm, 3.0 + 2.0 * values, 64)
    assert abs(running_mean[0] - 3.0) < 0.3 and abs(running_var[0] - 4.0) < 1.0


def test_unanswered_exercise_falls_back_to_the_reference(capsys, mnist1d_like_module):
    explorer = batch_norm_explorer(not_implemented, data=mnist1d_like_module)
    assert "not implemented yet" in capsys.readouterr().out
    reference = batch_norm_explorer(data=mnist1d_like_module)
    np.testing.assert_array_equal(explorer.outputs, reference.outputs)


def test_student_code_drives_the_view(values):
    def updates_in_eval(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        return norms.batch_norm(x, gamma, beta, running_mean, running_var, True, momentum, eps)

    explorer = BatchNormExplorer(updates_in_eval, values)
    explorer.options["mode"].value = "eval"
    reference = BatchNormExplorer(norms.batch_norm, values)
    reference.options["mode"].value = "eval"
    assert not np.allclose(explorer.outputs, reference.outputs)
