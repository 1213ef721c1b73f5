"""Lessons 00 and 05's interactive views: student code drives them, the physics is right."""

import numpy as np
import pytest
import torch

from course.experiments import deep_mlp
from course.experiments.clipping import rnn_loss_and_gradients, rnn_training_run
from course.views import clipping_explorers, gradient_flow_explorer
from course.views.clipping import vector_angle_degrees
from reference_impl import clipping, diagnostics


def not_implemented(*args):
    raise NotImplementedError()


@pytest.fixture(scope="module")
def views():
    vector_view, training_view = clipping_explorers(steps=30, length=10)
    return {"flow": gradient_flow_explorer(), "vector": vector_view, "training": training_view}


def test_flow_view_shows_the_reference_norms_of_the_chosen_network():
    explorer = gradient_flow_explorer()
    explorer.controls["depth"].value = 6
    explorer.options["activation"].value = "ReLU"
    model = deep_mlp(6, "ReLU", explorer.controls["init_scale"].value)
    expected = diagnostics.layer_gradient_norms(
        model, explorer.inputs, explorer.targets, torch.nn.functional.cross_entropy
    )
    np.testing.assert_allclose(explorer.norms, list(expected.values()))
    assert len(explorer.norms) == 7  # six hidden layers and the output layer


def test_flow_view_shows_vanishing_and_balanced_gradients():
    explorer = gradient_flow_explorer()
    explorer.controls["depth"].value = 20
    explorer.options["activation"].value = "sigmoid"
    assert explorer.norms[0] / explorer.norms[-1] < 1e-6 and "vanishing" in explorer.readout.value
    explorer.options["activation"].value = "ReLU"
    explorer.controls["init_scale"].value = 2**0.5
    assert 0.1 < explorer.norms[0] / explorer.norms[-1] < 10
    explorer.controls["init_scale"].value = 4.0
    assert "exploding" in explorer.readout.value


def test_vector_view_clips_like_torch(views):
    explorer = views["vector"]
    explorer.controls["angle"].value, explorer.controls["length"].value = 20.0, 4.0
    explorer.controls["threshold"].value = 1.0
    gradient = torch.tensor(explorer.gradient, requires_grad=True)
    gradient.grad = gradient.detach().clone()
    torch.nn.utils.clip_grad_norm_([gradient], 1.0)
    np.testing.assert_allclose(explorer.norm_clipped, gradient.grad.numpy())
    np.testing.assert_allclose(explorer.value_clipped, np.clip(explorer.gradient, -1.0, 1.0))
    assert vector_angle_degrees(explorer.gradient, explorer.norm_clipped) == pytest.approx(0.0, abs=1e-6)
    assert explorer.angle == pytest.approx(45.0 - np.degrees(np.arctan(np.tan(np.radians(20.0)))), abs=1e-6)


def test_training_view_runs_are_the_reference_runs(views):
    explorer = views["training"]
    explorer.controls["lr"].value = 1.0
    lr, max_norm = explorer.controls["lr"].value, explorer.controls["max_norm"].value
    expected = rnn_training_run(
        explorer.inputs, explorer.targets, lr, explorer.steps, clipping.clip_grad_norm, max_norm
    )
    np.testing.assert_array_equal(explorer.runs["norm clipping"][0], expected[0])
    unclipped_losses = explorer.runs["no clipping"][0]
    assert np.isnan(unclipped_losses[-1]), "at lr 1 the unclipped RNN should diverge"
    assert np.isfinite(explorer.runs["norm clipping"][0]).all()


def test_rnn_gradients_match_autograd():
    rng = np.random.default_rng(0)
    weights = [
        rng.normal(size=(5, 2)),
        rng.normal(size=(5, 5)),
        rng.normal(size=5),
        rng.normal(size=(1, 5)),
        rng.normal(size=1),
    ]
    inputs, targets = rng.normal(size=(4, 7, 2)), rng.normal(size=(4, 1))
    loss, grads = rnn_loss_and_gradients(weights, inputs, targets)
    w_x, w_h, b, w_o, b_o = (torch.tensor(w, requires_grad=True) for w in weights)
    state = torch.zeros(4, 5, dtype=torch.float64)
    for t in range(7):
        state = torch.tanh(torch.tensor(inputs[:, t]) @ w_x.T + state @ w_h.T + b)
    torch_loss = ((state @ w_o.T + b_o - torch.tensor(targets)) ** 2).mean()
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    for ours, theirs in zip(grads, (w_x, w_h, b, w_o, b_o)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_unanswered_exercises_fall_back_to_the_reference(capsys):
    gradient_flow_explorer(not_implemented)
    clipping_explorers(not_implemented, not_implemented, steps=5, length=4)
    assert capsys.readouterr().out.count("not implemented yet") == 3


def test_student_code_drives_the_views():
    def doubling_norm_clip(parameters, max_norm):  # a wrong answer must show in the picture
        for p in parameters:
            p.grad.mul_(2.0)

    vector_view, _ = clipping_explorers(doubling_norm_clip, steps=5, length=4)
    np.testing.assert_allclose(vector_view.norm_clipped, 2 * vector_view.gradient)
    explorer = gradient_flow_explorer(lambda model, *args: {"only": 5.0})
    np.testing.assert_array_equal(explorer.norms, [5.0])


def test_broken_student_code_is_not_hidden():
    def broken(*args):
        raise ValueError("shapes do not match")

    with pytest.raises(ValueError, match="shapes do not match"):
        gradient_flow_explorer(broken)
    with pytest.raises(ValueError, match="shapes do not match"):
        clipping_explorers(broken, steps=5, length=4)


def test_training_legend_names_the_runs_and_the_threshold(views):
    legend = [text.get_text() for text in views["training"].norm_axes.get_legend().get_texts()]
    assert legend == ["no clipping", "norm clipping", "value clipping", "norm threshold"]
