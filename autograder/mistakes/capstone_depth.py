"""Lesson 08 (capstone: ResNet depth): plausible wrong answers to each exercise.

Each dict maps a description that completes "That is what you get if you ..." to a wrong answer with the
exercise's signature (a function, or a module class with the reference's parameter names).
"""

import torch
import torch.nn.functional as F
from torch import nn

from reference_impl.models.resnet import STAGE_WIDTHS, BasicBlock, CifarResNet, conv3x3


def _shortcut(x, out_channels, stride, *, subsample=lambda x, s: x[:, :, ::s, ::s], pad_front=False):
    x = subsample(x, stride)
    extra = out_channels - x.shape[1]
    return F.pad(x, (0, 0, 0, 0, extra, 0) if pad_front else (0, 0, 0, 0, 0, extra))


SHORTCUT = {
    "put the zero channels in front of the input's channels instead of after them": lambda x, out_channels, stride: (
        _shortcut(x, out_channels, stride, pad_front=True)
    ),
    "subsample by averaging 2x2 windows instead of keeping every other pixel": lambda x, out_channels, stride: (
        _shortcut(x, out_channels, stride, subsample=lambda x, s: F.avg_pool2d(x, s) if s > 1 else x)
    ),
    "keep the pixels at odd positions (x[:, :, 1::2, 1::2]) instead of even ones": lambda x, out_channels, stride: (
        _shortcut(x, out_channels, stride, subsample=lambda x, s: x[:, :, s - 1 :: s, s - 1 :: s])
    ),
    "fill the new channels with copies of the old ones instead of zeros": lambda x, out_channels, stride: torch.cat(
        [x[:, :, ::stride, ::stride], x[:, : out_channels - x.shape[1], ::stride, ::stride]], dim=1
    ),
}


class _ReluBeforeAddition(BasicBlock):
    def forward(self, x):
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return out + self.shortcut(x) if self.shortcut is not None else out


class _AddBeforeSecondBatchNorm(BasicBlock):
    def forward(self, x):
        out = self.conv2(F.relu(self.bn1(self.conv1(x))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return F.relu(self.bn2(out))


class _NoFinalRelu(BasicBlock):
    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return out + self.shortcut(x) if self.shortcut is not None else out


class _AlwaysResidual(BasicBlock):
    def __init__(self, in_channels, out_channels, stride=1, residual=True):
        super().__init__(in_channels, out_channels, stride, residual=True)


class _StrideInSecondConvolution(BasicBlock):
    def __init__(self, in_channels, out_channels, stride=1, residual=True):
        super().__init__(in_channels, out_channels, stride, residual)
        self.conv1, self.conv2 = conv3x3(in_channels, out_channels), conv3x3(out_channels, out_channels, stride)


BLOCK = {
    "apply the last ReLU before adding the shortcut instead of after": _ReluBeforeAddition,
    "add the shortcut before the second batch norm instead of after it": _AddBeforeSecondBatchNorm,
    "leave out the ReLU after the addition": _NoFinalRelu,
    "add the shortcut even when residual=False": _AlwaysResidual,
    "put the stride in the second convolution instead of the first": _StrideInSecondConvolution,
}


class _Network(nn.Module):
    """A CIFAR net built from the reference blocks with one layout choice changed, for the wrong `cifar_resnet`s."""

    def __init__(self, n, residual, widths, blocks_per_n=1, first_stage_stride=1, stem_relu=True):
        super().__init__()
        self.conv, self.bn, self.stem_relu = conv3x3(3, widths[0]), nn.BatchNorm2d(widths[0]), stem_relu
        layers, in_channels = [], widths[0]
        for stage, width in enumerate(widths):
            for index in range(blocks_per_n * n):
                stride = (2 if stage > 0 else first_stage_stride) if index == 0 else 1
                layers.append(BasicBlock(in_channels, width, stride, residual))
                in_channels = width
        self.stages = nn.Sequential(*layers)
        self.fc = nn.Linear(in_channels, 10)

    def forward(self, x):
        x = self.bn(self.conv(x))
        x = self.stages(F.relu(x) if self.stem_relu else x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _wrong_network(widths=lambda width: (width, 2 * width, 4 * width), **layout):
    """A wrong `cifar_resnet(n, residual=True, width=16)`: stages of `widths(width)` channels, `layout` changed."""
    return lambda n, residual=True, width=16: _Network(n, residual, widths(width), **layout)


NETWORK = {
    "keep `width` channels in every stage instead of width·(1, 2, 4)": _wrong_network(
        widths=lambda width: (width,) * 3
    ),
    "ignore `width` (always 16, 32, 64 channels)": _wrong_network(widths=lambda width: STAGE_WIDTHS),
    "build 2n blocks a stage (counting convolutions, not blocks)": _wrong_network(blocks_per_n=2),
    "halve the feature map in the first stage too (stride 2 in every stage's first block)": _wrong_network(
        first_stage_stride=2
    ),
    "leave out the ReLU after the first convolution and its batch norm": _wrong_network(stem_relu=False),
}


def _count(n, conv_bias=False, batch_norm=True, fc_bias=True, convolutions_per_block=2):
    total, in_channels = 0, 3
    for width, convolutions in [(STAGE_WIDTHS[0], 1)] + [(width, convolutions_per_block * n) for width in STAGE_WIDTHS]:
        for _ in range(convolutions):
            total += in_channels * width * 9 + (width if conv_bias else 0) + (2 * width if batch_norm else 0)
            in_channels = width
    return total + in_channels * 10 + (10 if fc_bias else 0)


PARAMETER_COUNT = {
    "leave out the batch-norm parameters (a scale γ and a shift β per channel)": lambda n: _count(n, batch_norm=False),
    "give every convolution a bias (the paper's convolutions have none: batch norm's β is the shift)": lambda n: _count(
        n, conv_bias=True
    ),
    "leave out the final linear layer's bias": lambda n: _count(n, fc_bias=False),
    "count n convolutions a stage instead of 2n (a block has two)": lambda n: _count(n, convolutions_per_block=1),
    "return a float (e.g. from a true division /) instead of an int": lambda n: float(_count(n)),
}

# What each exercise's answer must not call, checked while it runs (checks' `forbidden=`) and in its text
# (autograder/grading/integrity.py): the answer key's ready-made versions of what it asks for; parameter_count
# counts with a formula, so it must not build a network and ask it for its parameters either.
_NETWORK_READY_MADE = (
    "reference_impl.models.CifarResNet",
    "reference_impl.models.resnet.CifarResNet",
    "reference_impl.models.build_model",
    "reference_impl.models.resnet.build_model",
)
MUST_NOT_CALL = {
    "shortcut": ("reference_impl.models.ShortcutA", "reference_impl.models.resnet.ShortcutA"),
    "block": ("reference_impl.models.resnet.BasicBlock",),
    "network": (*_NETWORK_READY_MADE, "reference_impl.models.resnet.BasicBlock"),
    "parameter_count": (
        *_NETWORK_READY_MADE,
        "reference_impl.models.count_parameters",
        "reference_impl.models.resnet.count_parameters",
        "torch.nn.Module.parameters",
        "torch.nn.Module.named_parameters",
    ),
}

# Answers that hand their exercise to one of MUST_NOT_CALL, right values and all: the graded cell must fail them
# naming the function they call ("your answer calls …"), which proves the run-time block. This one builds the
# network to count its parameters, as the exercise says not to.
HANDED_OVER = {
    "parameter_count": {"parameter_count": lambda n: sum(p.numel() for p in CifarResNet(6 * n + 2).parameters())}
}

# The graded cell of each exercise, the answers it tests and their known mistakes:
# tests/test_lesson_mistakes.py feeds every mistake to the lesson's own graded cell.
EXERCISES = {
    "shortcut": {"shortcut_a": SHORTCUT},
    "block": {"BasicBlock": BLOCK},
    "network": {"cifar_resnet": NETWORK},
    "parameter_count": {"parameter_count": PARAMETER_COUNT},
}
