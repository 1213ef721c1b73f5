"""Training loop, loss smoothing, the MLP, course settings and the student-or-reference fallback."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course import settings as course_settings
from course.experiments import smooth, train_classifier
from course.fallback import implemented_or_reference
from reference_impl.models import MLP
from reference_impl.optim import SGD


def fresh_mlp(seed=0):
    torch.manual_seed(seed)
    return MLP((40, 32, 10))


class BatchRecorder(nn.Module):
    """Wraps a model and keeps a copy of every input it sees in training mode."""

    def __init__(self, model):
        super().__init__()
        self.model, self.batches = model, []

    def forward(self, x):
        if self.training:
            self.batches.append(x.clone())
        return self.model(x)


# --- train_classifier ---------------------------------------------------------------------------


def test_history_has_a_loss_per_step_and_an_evaluation_every_eval_every_steps_and_at_the_end(mnist1d_like):
    model = fresh_mlp()
    history = train_classifier(
        model, SGD(model.parameters(), lr=0.1), mnist1d_like, steps=25, batch_size=32, eval_every=10
    )
    assert history["step"] == list(range(1, 26))
    assert len(history["train_loss"]) == 25
    assert history["eval_step"] == [10, 20, 25]
    assert len(history["val_loss"]) == len(history["val_accuracy"]) == 3
    assert all(0.0 <= accuracy <= 1.0 for accuracy in history["val_accuracy"])
    assert all(math.isfinite(loss) for loss in history["train_loss"] + history["val_loss"])
    assert "test_accuracy" not in history, "the test set is evaluated only when asked for"


class CountingModel(torch.nn.Module):
    """Wraps a model and counts the examples it sees in evaluation mode, by their first feature."""

    def __init__(self, model):
        super().__init__()
        self.model, self.evaluated = model, []

    def forward(self, x):
        if not self.training:
            self.evaluated.append(x[:, 0].clone())
        return self.model(x)


def test_validation_every_eval_and_the_test_set_once_at_the_end_when_asked(mnist1d_like):
    model = CountingModel(fresh_mlp())
    history = train_classifier(
        model, SGD(model.parameters(), lr=0.1), mnist1d_like, steps=20, batch_size=32, eval_every=10, test=True
    )
    val_first, test_first = torch.as_tensor(mnist1d_like["x_val"][:, 0]), torch.as_tensor(mnist1d_like["x_test"][:, 0])
    assert [torch.equal(seen, val_first) for seen in model.evaluated] == [True, True, False]
    assert torch.equal(model.evaluated[-1], test_first)
    logits = model.model(torch.as_tensor(mnist1d_like["x_test"]))
    expected = (logits.argmax(1) == torch.as_tensor(mnist1d_like["y_test"])).float().mean().item()
    assert history["test_accuracy"] == pytest.approx(expected)
    assert isinstance(history["test_loss"], float) and math.isfinite(history["test_loss"])


def test_training_with_momentum_lowers_the_loss_and_beats_chance(mnist1d_like):
    model = fresh_mlp()
    history = train_classifier(
        model, SGD(model.parameters(), lr=0.1, momentum=0.9), mnist1d_like, steps=200, batch_size=64, eval_every=100
    )
    assert np.mean(history["train_loss"][-20:]) < 0.5 * np.mean(history["train_loss"][:20])
    assert history["val_accuracy"][-1] > 0.3  # chance is 0.1


def test_evaluation_leaves_the_model_in_training_mode(mnist1d_like):
    model = fresh_mlp()
    train_classifier(model, SGD(model.parameters(), lr=0.1), mnist1d_like, steps=3, eval_every=1)
    assert model.training


def test_divergence_stops_training_early_with_a_message(mnist1d_like, capsys):
    model = fresh_mlp()
    history = train_classifier(model, SGD(model.parameters(), lr=1e30), mnist1d_like, steps=100, eval_every=10)
    assert len(history["step"]) < 100
    assert not math.isfinite(history["train_loss"][-1])
    assert all(math.isfinite(loss) for loss in history["train_loss"][:-1])
    assert history["eval_step"][-1] == history["step"][-1]
    assert "diverged" in capsys.readouterr().out


def test_same_seed_gives_the_same_batches_whatever_the_optimizer(mnist1d_like):
    runs = []
    for lr, momentum in ((0.1, 0.0), (0.01, 0.9)):
        recorder = BatchRecorder(fresh_mlp())
        train_classifier(
            recorder,
            SGD(recorder.parameters(), lr=lr, momentum=momentum),
            mnist1d_like,
            steps=10,
            batch_size=16,
            seed=3,
        )
        runs.append(recorder.batches)
    assert len(runs[0]) == len(runs[1]) == 10
    for step, (a, b) in enumerate(zip(*runs), start=1):
        assert torch.equal(a, b), f"batch {step} differs"


def test_another_seed_gives_other_batches(mnist1d_like):
    runs = []
    for seed in (3, 4):
        recorder = BatchRecorder(fresh_mlp())
        train_classifier(recorder, SGD(recorder.parameters(), lr=0.1), mnist1d_like, steps=3, batch_size=16, seed=seed)
        runs.append(recorder.batches)
    assert not torch.equal(runs[0][0], runs[1][0])


def test_identical_runs_give_identical_histories(mnist1d_like):
    histories = []
    for _ in range(2):
        model = fresh_mlp()
        histories.append(
            train_classifier(
                model,
                SGD(model.parameters(), lr=0.05, momentum=0.9),
                mnist1d_like,
                steps=30,
                batch_size=32,
                eval_every=10,
                seed=5,
            )
        )
    assert histories[0] == histories[1]


# --- smooth ---------------------------------------------------------------------------------------


def moving_average_directly(values, window):
    return np.array([np.mean(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))])


@settings(max_examples=50)
@given(values=st.lists(st.floats(-1e3, 1e3), max_size=120), window=st.integers(1, 40))
def test_smooth_is_the_trailing_moving_average(values, window):
    smoothed = smooth(values, window)
    assert smoothed.shape == (len(values),)
    np.testing.assert_allclose(smoothed, moving_average_directly(values, window), rtol=1e-9, atol=1e-8)


def test_smooth_with_window_one_returns_the_values():
    np.testing.assert_allclose(smooth([3.0, -1.0, 4.0], window=1), [3.0, -1.0, 4.0])


# --- MLP ------------------------------------------------------------------------------------------


def test_mlp_alternates_linear_layers_and_activations_with_none_after_the_last():
    model = MLP((40, 100, 100, 10))
    assert [type(layer) for layer in model] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in linears] == [(40, 100), (100, 100), (100, 10)]
    assert model(torch.zeros(7, 40)).shape == (7, 10)


def test_mlp_takes_the_activation_class():
    assert [type(layer) for layer in MLP((4, 3, 2), activation=nn.Tanh)] == [nn.Linear, nn.Tanh, nn.Linear]
    assert [type(layer) for layer in MLP((4, 2))] == [nn.Linear]


def test_mlp_needs_an_input_and_an_output_width():
    with pytest.raises(ValueError):
        MLP((40,))


# --- course settings ------------------------------------------------------------------------------


@pytest.mark.parametrize("value, fast", [(None, False), ("0", False), ("", False), ("1", True), ("yes", True)])
def test_fast_mode_and_sized_follow_course_fast(value, fast, monkeypatch):
    if value is None:
        monkeypatch.delenv("COURSE_FAST", raising=False)
    else:
        monkeypatch.setenv("COURSE_FAST", value)
    assert course_settings.fast_mode() is fast
    assert course_settings.sized(100, 2000) == (100 if fast else 2000)


# --- student-or-reference fallback ----------------------------------------------------------------


def reference_answer(x):
    return 2 * x


def probe_with_one(candidate):
    return candidate(1.0)


def test_fallback_uses_the_reference_while_the_student_raises_not_implemented(capsys):
    def my_step(x):
        raise NotImplementedError

    assert implemented_or_reference(my_step, reference_answer, probe_with_one) is reference_answer
    out = capsys.readouterr().out
    assert "my_step" in out and "reference" in out


def test_fallback_returns_a_working_student_function_after_probing_it(capsys):
    probed = []

    def my_step(x):
        probed.append(x)
        return 3 * x

    assert implemented_or_reference(my_step, reference_answer, probe_with_one) is my_step
    assert probed == [1.0]
    assert capsys.readouterr().out == ""


def test_fallback_lets_other_errors_through():
    def my_step(x):
        raise ValueError("shapes do not match")

    with pytest.raises(ValueError, match="shapes do not match"):
        implemented_or_reference(my_step, reference_answer, probe_with_one)


def test_fallback_uses_the_reference_when_there_is_no_student_function():
    assert implemented_or_reference(None, reference_answer, probe_with_one) is reference_answer
