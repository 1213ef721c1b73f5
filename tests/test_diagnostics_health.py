"""The training-health report: activation statistics by forward hooks, per-layer gradient norms and
update-to-data ratios, the text table, and the fresh-input check lesson 07's hidden tests use."""

import math

import pytest
import torch
from torch import nn

from autograder import checks
from reference_impl import diagnostics
from reference_impl.models import DeepMLP


def sgd_step(model, lr=0.1, seed=0, batch=32, features=10, classes=3):
    generator = torch.Generator().manual_seed(seed)
    inputs, targets = (
        torch.randn(batch, features, generator=generator),
        torch.randint(0, classes, (batch,), generator=generator),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    return step, inputs, targets


def test_report_matches_quantities_computed_by_hand():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 3))
    before = [p.detach().clone() for p in model.parameters()]
    step, inputs, _ = sgd_step(model, lr=0.1)
    with torch.no_grad():
        hidden = torch.tanh(model[0](inputs))  # the parameters have not moved yet
    report = diagnostics.health_report(model, step)
    tanh = report["activations"]["1"]
    assert tanh["mean"] == pytest.approx(float(hidden.mean()), rel=1e-6)
    assert tanh["std"] == pytest.approx(float(hidden.std(correction=0)), rel=1e-6)
    assert tanh["saturation"] == pytest.approx(float((hidden.abs() > 0.97).float().mean()))
    assert math.isnan(report["activations"]["0"]["saturation"])
    assert list(report["gradient_norm"]) == ["0", "2"]
    weight, bias = model[0].weight, model[0].bias
    assert report["gradient_norm"]["0"] == pytest.approx(
        math.sqrt(float(weight.grad.square().sum() + bias.grad.square().sum())), rel=1e-6
    )
    # SGD's update is lr · gradient, so the ratio is lr · |∇θ| / |θ_before|.
    data_norm = math.sqrt(float(before[0].square().sum() + before[1].square().sum()))
    assert report["update_ratio"]["0"] == pytest.approx(0.1 * report["gradient_norm"]["0"] / data_norm, rel=1e-5)


def test_saturation_rules_for_relu_and_sigmoid():
    values = torch.tensor([-1.0, 0.0, 0.5, 2.0])
    assert diagnostics.activation_summary(nn.ReLU(), torch.relu(values))["saturation"] == 0.5
    sigmoid_out = torch.tensor([0.01, 0.5, 0.99, 0.6])
    assert diagnostics.activation_summary(nn.Sigmoid(), sigmoid_out)["saturation"] == 0.5


def test_nested_models_report_leaf_modules_and_parameter_layers_by_full_name():
    torch.manual_seed(0)
    model = DeepMLP(4, 8, residual=True, in_features=10, classes=3)
    report = diagnostics.health_report(model, sgd_step(model)[0])
    assert "2.linear1" in report["activations"] and "2.activation" in report["activations"]
    assert list(report["gradient_norm"]) == [name for name, _ in diagnostics.layers_with_parameters(model)]


def test_hooks_are_removed_even_when_the_step_fails():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())

    def failing_step():
        model(torch.randn(2, 3))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        diagnostics.health_report(model, failing_step)
    assert not any(module._forward_hooks for module in model.modules())


def test_frozen_layer_has_zero_gradient_norm_and_zero_update():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 3))
    model[0].requires_grad_(False)
    report = diagnostics.health_report(model, sgd_step(model)[0])
    assert report["gradient_norm"]["0"] == 0.0 and report["update_ratio"]["0"] == 0.0


def test_format_health_flags_what_breaks_the_rules_of_thumb():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 3))
    with torch.no_grad():
        model[0].weight.mul_(100)  # saturate the tanh
    table = diagnostics.format_health(diagnostics.health_report(model, sgd_step(model, lr=10.0)[0]))
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["module", "act."]
    tanh_row = next(line for line in lines if line.startswith("1 "))
    assert "saturated" in tanh_row
    assert "update too large" in next(line for line in lines if line.startswith("2 "))


def test_check_function_on_fresh_inputs_gives_every_call_its_own_inputs():
    calls = []

    def make_args():
        calls.append(1)
        return ([0.0],), {}

    def add_one(box):
        box[0] += 1.0  # changes its input: a second call on the same input would see 1.0
        return box[0]

    checks.check_function_on_fresh_inputs(add_one, add_one, make_args=make_args)
    assert len(calls) == 2
    with pytest.raises(AssertionError, match="That is what you get if you add two"):
        checks.check_function_on_fresh_inputs(
            lambda box: box[0] + 2.0,
            add_one,
            make_args=make_args,
            mistakes={"add three": lambda box: box[0] + 3.0, "add two": lambda box: box[0] + 2.0},
        )
