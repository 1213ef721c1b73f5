"""Lesson 07 (initialization, residual blocks, training health): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a function (or, for
the residual block, a class) with the exercise's signature that makes exactly that mistake.
"""

import functools
import math

import numpy as np
import torch
from torch import nn

from reference_impl import diagnostics
from reference_impl.init import fan_in_and_fan_out, uniform_bound
from reference_impl.models import PlainBlock, ResidualBlock

FAN_IN_AND_FAN_OUT = {
    "swap them (a weight is shaped (out, in): fan_in is shape[1])": lambda shape: (shape[0], shape[1]),
    "leave out the kernel size (a convolution's output sums over in_channels · kernel positions)": lambda shape: (
        shape[1],
        shape[0],
    ),
    "multiply only fan_in by the kernel size (each output position also feeds out_channels · kernel inputs)": lambda shape: (
        shape[1] * int(np.prod(shape[2:])),
        shape[0],
    ),
    "raise no ValueError for a shape of fewer than 2 dimensions (shape[1] fails with an IndexError)": lambda shape: (
        shape[1] * int(np.prod(shape[2:])),
        shape[0] * int(np.prod(shape[2:])),
    ),
}

XAVIER_STD = {
    "forget the gain": lambda shape, gain=1.0: math.sqrt(2.0 / sum(fan_in_and_fan_out(shape))),
    "return the variance instead of the standard deviation": lambda shape, gain=1.0: (
        gain**2 * 2.0 / sum(fan_in_and_fan_out(shape))
    ),
    "use fan_in alone (that is LeCun's 1/√fan_in)": lambda shape, gain=1.0: (
        gain / math.sqrt(fan_in_and_fan_out(shape)[0])
    ),
    "forget the factor 2 (√(1/(fan_in + fan_out)))": lambda shape, gain=1.0: (
        gain / math.sqrt(sum(fan_in_and_fan_out(shape)))
    ),
}


def _fan(shape, mode):
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


HE_STD = {
    "ignore mode and always use fan_in": lambda shape, gain=math.sqrt(2.0), mode="fan_in": (
        gain / math.sqrt(_fan(shape, "fan_in"))
    ),
    "swap the fans (fan_out for mode='fan_in')": lambda shape, gain=math.sqrt(2.0), mode="fan_in": (
        gain / math.sqrt(_fan(shape, "fan_out" if mode == "fan_in" else "fan_in"))
    ),
    "multiply by the gain squared (2/√fan for ReLU) instead of the gain": lambda shape, gain=math.sqrt(2.0), mode="fan_in": (
        gain**2 / math.sqrt(_fan(shape, mode))
    ),
    "return the variance instead of the standard deviation": lambda shape, gain=math.sqrt(2.0), mode="fan_in": (
        gain**2 / _fan(shape, mode)
    ),
}


def _uniform(shape, bound, generator):
    return (torch.rand(tuple(shape), generator=generator) * 2 - 1) * bound


def _normal_from_the_global_generator(shape, std, distribution="normal", generator=None):
    if distribution == "uniform":
        return _uniform(shape, uniform_bound(std), generator)
    return torch.randn(tuple(shape)) * std


def _uniform_in_float64(shape, std, distribution="normal", generator=None):
    if distribution == "uniform":
        return (torch.rand(tuple(shape), generator=generator, dtype=torch.float64) * 2 - 1) * uniform_bound(std)
    return torch.randn(tuple(shape), generator=generator) * std


INITIALIZE = {
    "use the standard deviation as the uniform bound (U(−σ, σ) has variance σ²/3)": lambda shape, std, distribution="normal", generator=None: (
        _uniform(shape, std, generator)
        if distribution == "uniform"
        else torch.randn(tuple(shape), generator=generator) * std
    ),
    "draw from a normal distribution whatever `distribution` says": lambda shape, std, distribution="normal", generator=None: (
        torch.randn(tuple(shape), generator=generator) * std
    ),
    "draw from U(0, √3·σ) (forgetting the negative half)": lambda shape, std, distribution="normal", generator=None: (
        torch.rand(tuple(shape), generator=generator) * uniform_bound(std)
        if distribution == "uniform"
        else torch.randn(tuple(shape), generator=generator) * std
    ),
    "scale by the variance σ² instead of the standard deviation σ": lambda shape, std, distribution="normal", generator=None: (
        _uniform(shape, uniform_bound(std**2), generator)
        if distribution == "uniform"
        else torch.randn(tuple(shape), generator=generator) * std**2
    ),
    "draw the normal weights from torch's global generator (torch.randn without generator=generator)": (
        _normal_from_the_global_generator
    ),
    "draw the uniform weights in float64 (dtype=torch.float64) instead of float32": _uniform_in_float64,
}


class _SkipOutsideActivation(ResidualBlock):
    def forward(self, x):
        return x + self.activation(self.branch_scale * self.linear2(self.activation(self.linear1(x))))


class _WithoutBranchScale(ResidualBlock):
    def forward(self, x):
        return self.activation(x + self.linear2(self.activation(self.linear1(x))))


class _WithoutSkip(PlainBlock):
    def __init__(self, width, activation=nn.ReLU, branch_scale=1.0):
        super().__init__(width, activation)
        self.branch_scale = branch_scale

    def forward(self, x):
        return self.activation(self.branch_scale * self.linear2(self.activation(self.linear1(x))))


class _ScaleNamedOtherwise(ResidualBlock):
    def __init__(self, width, activation=nn.ReLU, branch_scale=1.0):
        super().__init__(width, activation, branch_scale)
        del self.branch_scale
        self.scale = branch_scale

    def forward(self, x):
        return self.activation(x + self.scale * self.linear2(self.activation(self.linear1(x))))


class _ActivationClassKept(ResidualBlock):
    def __init__(self, width, activation=nn.ReLU, branch_scale=1.0):
        super().__init__(width, activation, branch_scale)
        del self.activation  # the submodule: the class itself is kept in its place
        self.activation = activation

    def forward(self, x):
        act = self.activation()
        return act(x + self.branch_scale * self.linear2(act(self.linear1(x))))


RESIDUAL_BLOCK = {
    "add the skip connection after the last activation (x + activation(…)) instead of before it": _SkipOutsideActivation,
    "forget branch_scale": _WithoutBranchScale,
    "leave out the skip connection (that is a plain block)": _WithoutSkip,
    "keep the branch scale under another name than branch_scale": _ScaleNamedOtherwise,
    "keep the activation class itself in .activation instead of an instance of it (activation())": _ActivationClassKept,
}


def _health_report(
    model,
    step,
    *,
    correction=0,
    squared_gradient=False,
    ratio_to_data_after=False,
    gradient_instead_of_update=False,
    record_inputs=False,
    first_pass=False,
    hooked="leaves",
    removed="always",
    as_tensors=False,
    ratio_without_data=float("nan"),
    skip_without_gradient=False,
):
    """diagnostics.health_report with one detail changeable.

    It registers its own hooks (the answer key's run_with_leaf_hooks is blocked while it runs as the student's):
    on the leaves or on every module (`hooked`), removed always, only after a step that succeeds, or never.
    """
    layers = diagnostics.layers_with_parameters(model)
    before = {name: [p.detach().clone() for p in layer.parameters(recurse=False)] for name, layer in layers}
    activations = {}

    def recorder(name):
        def record(module, inputs, output):
            if first_pass and name in activations:
                return
            values = (inputs[0] if record_inputs else output).detach().double()
            summary = diagnostics.activation_summary(module, values)
            summary["std"] = float(values.std(correction=correction))
            activations[name] = {key: torch.tensor(value) for key, value in summary.items()} if as_tensors else summary

        return record

    hooks = [
        module.register_forward_hook(recorder(name))
        for name, module in model.named_modules()
        if hooked == "every module" or next(module.children(), None) is None
    ]
    try:
        step()
    finally:
        if removed == "always":
            for hook in hooks:
                hook.remove()
    if removed == "after success":
        for hook in hooks:
            hook.remove()

    gradient_norm, update_ratio = {}, {}
    for name, layer in layers:
        params = list(layer.parameters(recurse=False))
        gradients = [p.grad.detach() for p in params if p.grad is not None]
        if skip_without_gradient and not gradients:
            continue
        gradient_norm[name] = diagnostics.combined_norm(gradients) ** (2 if squared_gradient else 1)
        data = diagnostics.combined_norm([p.detach() for p in params] if ratio_to_data_after else before[name])
        change = (
            diagnostics.combined_norm(gradients)
            if gradient_instead_of_update
            else diagnostics.combined_norm([p.detach() - old for p, old in zip(params, before[name])])
        )
        update_ratio[name] = change / data if data > 0 else ratio_without_data
    return {"activations": activations, "gradient_norm": gradient_norm, "update_ratio": update_ratio}


HEALTH_REPORT = {
    "use the unbiased standard deviation (torch's default; the report uses correction=0)": lambda model, step: (
        _health_report(model, step, correction=1)
    ),
    "report the squared gradient norm": lambda model, step: _health_report(model, step, squared_gradient=True),
    "divide the update by the parameters after the step instead of before it": lambda model, step: _health_report(
        model, step, ratio_to_data_after=True
    ),
    "use the gradient instead of the update (‖∇θ‖/‖θ‖ leaves the learning rate out)": lambda model, step: (
        _health_report(model, step, gradient_instead_of_update=True)
    ),
    "summarize each module's input instead of its output": lambda model, step: _health_report(
        model, step, record_inputs=True
    ),
    "keep the statistics of the step's first forward pass instead of its last": lambda model, step: _health_report(
        model, step, first_pass=True
    ),
    "hook every module of named_modules(), containers and the model itself too, instead of the leaves": (
        functools.partial(_health_report, hooked="every module")
    ),
    "leave the forward hooks on the model (never calling handle.remove())": lambda model, step: _health_report(
        model, step, removed="never"
    ),
    "remove the hooks only when step() succeeds (without try/finally)": lambda model, step: _health_report(
        model, step, removed="after success"
    ),
    "report tensors instead of Python floats (float(...))": lambda model, step: _health_report(
        model, step, as_tensors=True
    ),
    "report an update ratio of 0.0 instead of NaN where ‖θ_before‖ = 0": lambda model, step: _health_report(
        model, step, ratio_without_data=0.0
    ),
    "leave out the layers none of whose parameters has a gradient (their gradient norm is 0.0)": lambda model, step: (
        _health_report(model, step, skip_without_gradient=True)
    ),
}

SECOND_MOMENT = {
    "forget that ReLU halves the second moment ((n·σ²)^depth)": lambda depth, n, std: (n * std**2) ** depth,
    "use the standard deviation where the variance belongs ((n·σ/2)^depth)": lambda depth, n, std: (
        (n * std / 2) ** depth
    ),
    "multiply the per-layer factors as a sum (depth · n·σ²/2)": lambda depth, n, std: depth * n * std**2 / 2,
}


# What each exercise's answer must not call, checked while it runs (checks' `forbidden=`) and in its text
# (autograder/grading/integrity.py): torch's and the answer key's ready-made versions of what it asks for.
# health_report may use the diagnostics helpers its docstring names (activation_summary, layers_with_parameters).
MUST_NOT_CALL = {
    "fans": ("torch.nn.init._calculate_fan_in_and_fan_out", "reference_impl.init.fan_in_and_fan_out"),
    "stds": (
        "torch.nn.init.xavier_normal_",
        "torch.nn.init.xavier_uniform_",
        "torch.nn.init.kaiming_normal_",
        "torch.nn.init.kaiming_uniform_",
        "torch.nn.init._calculate_correct_fan",
        "reference_impl.init.xavier_std",
        "reference_impl.init.he_std",
    ),
    "initialize": (
        "torch.nn.init.normal_",
        "torch.nn.init.uniform_",
        "torch.nn.init.xavier_normal_",
        "torch.nn.init.xavier_uniform_",
        "torch.nn.init.kaiming_normal_",
        "torch.nn.init.kaiming_uniform_",
        "reference_impl.init.initialize",
    ),
    "residual_block": ("reference_impl.models.ResidualBlock", "reference_impl.models.residual.ResidualBlock"),
    "health_report": ("reference_impl.diagnostics.health_report", "reference_impl.diagnostics.run_with_leaf_hooks"),
    "second_moment": (),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block.
HANDED_OVER = {"health_report": {"health_report": lambda model, step: diagnostics.health_report(model, step)}}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "fans": {"fan_in_and_fan_out": FAN_IN_AND_FAN_OUT},
    "stds": {"xavier_std": XAVIER_STD, "he_std": HE_STD},
    "initialize": {"initialize": INITIALIZE},
    "residual_block": {"ResidualBlock": RESIDUAL_BLOCK},
    "health_report": {"health_report": HEALTH_REPORT},
    "second_moment": {"relu_second_moment_factor": SECOND_MOMENT},
}
