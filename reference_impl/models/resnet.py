"""CIFAR ResNets and their plain counterparts, as in He et al. 2016 ("Deep Residual Learning", section 4.2).

A 3x3 convolution with 16 filters, then 3 stages of `n` blocks of two 3x3 convolutions with 16, 32 and 64
filters (the first block of stages 2 and 3 halves the feature map with stride 2), global average pooling
and a 10-way linear layer: 6n + 2 weighted layers. Every convolution is followed by batch norm. Residual
blocks use option A shortcuts (identity; where the shape changes, subsample by 2 and zero-pad the new
channels), so shortcuts add no parameters and residual and plain nets have exactly the same parameters.
The pre-activation variant (He et al., "Identity Mappings in Deep Residual Networks", 2016) moves BN and
ReLU before each convolution and adds a final BN + ReLU before pooling.
"""

import re

import torch
import torch.nn.functional as F
from torch import nn

STAGE_WIDTHS = (16, 32, 64)
# Depths of the paper's Table 6 (n = 3, 5, 7, 9, 18) and their parameter counts as printed there.
PAPER_DEPTHS = (20, 32, 44, 56, 110)
PAPER_PARAMETERS_MILLIONS = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}
# Forward multiply-adds per 32x32 image (convolutions and the linear layer).
PAPER_FORWARD_MULTIPLY_ADDS = {20: 40.6e6, 56: 125.5e6, 110: 252.9e6}


class ShortcutA(nn.Module):
    """Option A shortcut: the identity, or where a block changes shape, x subsampled by `stride` with zero channels
    appended.

    Parameter-free, so residual nets have the same parameters as plain ones.
    """

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"option A can only add channels, got {in_channels} -> {out_channels}")
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.extra_channels:
            # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C front, C back).
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))
        return x


def conv3x3(in_channels, out_channels, stride=1):
    # No bias: the batch norm that follows has its own shift.
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN, plus the option A shortcut when `residual`, then ReLU (the paper's Figure 2)."""

    def __init__(self, in_channels, out_channels, stride=1, residual=True):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = ShortcutA(in_channels, out_channels, stride) if residual else None

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return F.relu(out)


class PreActBlock(nn.Module):
    """BN-ReLU-conv-BN-ReLU-conv, plus the option A shortcut of the block's input when `residual`."""

    def __init__(self, in_channels, out_channels, stride=1, residual=True):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.shortcut = ShortcutA(in_channels, out_channels, stride) if residual else None

    def forward(self, x):
        out = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return out


class CifarResNet(nn.Module):
    """ResNet-`depth` (depth = 6n + 2) for 32x32 images; `residual=False` gives the plain net of the same depth.

    The three stages have `width`·(1, 2, 4) channels: the paper's 16, 32, 64 by default; a narrower net (e.g.
    width 8) keeps the same depth and wiring at a fraction of the cost, for the CPU-scale experiments. Any image
    size works (the stages halve it twice, average pooling takes what is left).
    Convolutions get He (fan-out) initialization, as in the paper's reference [13]; BN starts at
    scale 1 and shift 0.
    """

    def __init__(self, depth=20, residual=True, preactivation=False, num_classes=10, width=STAGE_WIDTHS[0]):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"a CIFAR ResNet has depth 6n + 2 with n >= 1, got {depth}")
        self.depth, self.residual, self.preactivation, self.width = depth, residual, preactivation, width
        blocks_per_stage = (depth - 2) // 6
        block = PreActBlock if preactivation else BasicBlock
        self.conv = conv3x3(3, width)
        # Pre-activation blocks begin with their own BN + ReLU, so the stem is the bare convolution.
        self.bn = None if preactivation else nn.BatchNorm2d(width)
        stages, in_channels = [], width
        for stage, stage_width in enumerate(width * widening for widening in (1, 2, 4)):
            blocks = []
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(block(in_channels, stage_width, stride, residual))
                in_channels = stage_width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final_bn = nn.BatchNorm2d(in_channels) if preactivation else None
        self.fc = nn.Linear(in_channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = F.relu(self.bn(x))
        x = self.stages(x)
        if self.final_bn is not None:
            x = F.relu(self.final_bn(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODEL_NAME = re.compile(r"(preact_)?(resnet|plain)(\d+)")


def build_model(name, num_classes=10):
    """A model from its name: ``resnet56``, ``plain56`` or ``preact_resnet56`` (any depth 6n + 2)."""
    match = MODEL_NAME.fullmatch(name)
    if not match:
        raise ValueError(
            f"unknown model {name!r}: use resnetD, plainD or preact_resnetD with D = 6n + 2, e.g. resnet56"
        )
    preactivation, kind, depth = match.groups()
    return CifarResNet(
        int(depth), residual=kind == "resnet", preactivation=bool(preactivation), num_classes=num_classes
    )


def count_parameters(model):
    return sum(parameter.numel() for parameter in model.parameters())


def forward_multiply_adds(model, image_size=32):
    """Multiply-adds of one forward pass of one image through the model's convolutions and linear layers."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kernel = module.weight[0].numel()  # in_channels/groups · kh · kw multiply-adds per output value
            total += output.numel() * kernel
        else:
            total += module.weight.numel()

    hooks = [
        module.register_forward_hook(count) for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return total
