"""Lessons 06 and 07's views: student code drives them, the numbers are what they claim."""

import numpy as np
import pytest

from course.experiments.init_residual import signal_std_by_layer
from course.experiments.normalization import conv_feature_maps
from course.views import dropout_explorer, init_explorer, norm_explorer
from reference_impl import init, norms, regularization


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.fixture(scope="module")
def small_data(request):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 40)).astype(np.float32)
    y = (x[:, :10].sum(1) > 0).astype(np.int64) + 2 * (x[:, 10:20].sum(1) > 0)
    return {"x": x[:200], "y": y[:200], "x_val": x[200:], "y_val": y[200:]}


# --- 06: batch vs layer vs group norm ----------------------------------------------------------------


def test_only_batch_norm_depends_on_the_batch(small_data):
    explorer = norm_explorer(data=small_data)
    shown = explorer.shown
    explorer.controls["batch_size"].value = 64
    assert not np.allclose(explorer.shown["batch norm"], shown["batch norm"])
    np.testing.assert_allclose(explorer.shown["layer norm"], shown["layer norm"])
    np.testing.assert_allclose(explorer.shown["group norm"], shown["group norm"])
    explorer.options["groups"].value = 8
    assert not np.allclose(explorer.shown["group norm"], shown["group norm"])


def test_norm_explorer_uses_student_code_and_falls_back(small_data, capsys):
    explorer = norm_explorer(not_implemented, not_implemented, data=small_data)
    assert capsys.readouterr().out.count("not implemented yet") == 2
    batch = explorer.features[np.r_[0, explorer.order[: explorer.controls["batch_size"].value - 1]]]
    expected, _ = norms.group_norm_forward(batch, 2, np.ones(8), np.zeros(8))
    np.testing.assert_allclose(explorer.shown["group norm"], expected[0])
    doubled = norm_explorer(lambda x, g, b: (2 * norms.layer_norm_forward(x, g, b)[0], None), data=small_data)
    np.testing.assert_allclose(doubled.shown["layer norm"], 2 * explorer.shown["layer norm"])


def test_conv_feature_maps_shape(small_data):
    assert conv_feature_maps(small_data, count=10).shape == (10, 8, 36)


# --- 06: dropout rate --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dropout_view(small_data):
    return dropout_explorer(data=small_data, steps=20, rates=(0.0, 0.25, 0.5))


def test_dropout_explorer_trains_every_rate_up_front(dropout_view):
    assert set(dropout_view.curves) == {0.0, 0.25, 0.5}
    dropout_view.controls["p"].value = 0.5
    assert "p = 0.5" in dropout_view.readout.value
    dropout_view.controls["p"].value = 0.3  # between grid points: the nearest trained rate is shown
    assert "p = 0.25" in dropout_view.readout.value


def test_dropout_explorer_masks_come_from_the_student_function(small_data, capsys):
    calls = []

    def counting_dropout(x, p, training, rng):
        calls.append(p)
        return regularization.dropout(x, p, training, rng)

    dropout_explorer(counting_dropout, data=small_data, steps=2, rates=(0.0, 0.5))
    assert 0.5 in calls
    dropout_explorer(not_implemented, data=small_data, steps=2, rates=(0.0, 0.5))
    assert "not implemented yet" in capsys.readouterr().out


# --- 07: depth and init --------------------------------------------------------------------------------


def test_signal_std_follows_variance_propagation():
    width = 64
    _layers, he_forward, _ = signal_std_by_layer(20, init.he_std((width, width)), "relu", residual=False, batch=512)
    _layers, xavier_forward, _ = signal_std_by_layer(
        20, init.xavier_std((width, width)), "relu", residual=False, batch=512
    )
    # He keeps the second moment of ReLU layers; Xavier halves it per layer (std ratio about 2^-10 after 20).
    assert 0.3 < he_forward[-1] / he_forward[0] < 3
    assert xavier_forward[-1] / xavier_forward[0] < 2**-7
    layers, residual_forward, residual_gradient = signal_std_by_layer(
        40, init.xavier_std((width, width)), "relu", residual=True
    )
    assert list(layers) == list(range(2, 42, 2))
    assert 0.3 < residual_forward[-1] < 3 and 0.3 < residual_gradient[0] < 3


def test_init_explorer_caches_and_uses_student_stds(capsys):
    explorer = init_explorer(lambda shape, gain=1.0: 0.5 * init.xavier_std(shape, gain), not_implemented)
    assert "not implemented yet" in capsys.readouterr().out
    explorer.controls["depth"].value = 60
    explorer.options["init"].value = "Xavier"
    assert "weight std 0.0625" in explorer.readout.value  # half of √(2/128)
    explorer.options["activation"].value = "tanh"
    explorer.options["activation"].value = "relu"  # seen before: redrawn from the cache
    assert len(explorer._cache) == 4
