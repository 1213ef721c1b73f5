"""CIFAR ResNets and plain nets as in He et al. 2016: parameter counts, option A shortcuts, cost per image."""

import pytest
import torch

from reference_impl.models.resnet import (
    PAPER_DEPTHS,
    PAPER_FORWARD_MULTIPLY_ADDS,
    PAPER_PARAMETERS_MILLIONS,
    BasicBlock,
    CifarResNet,
    ShortcutA,
    build_model,
    count_parameters,
    forward_multiply_adds,
)


@pytest.mark.parametrize("depth", PAPER_DEPTHS)
def test_parameter_counts_match_the_paper(depth):
    # Table 6 prints 0.27M, 0.46M, 0.66M, 0.85M (two decimals) and 1.7M (one decimal).
    decimals = 1 if depth == 110 else 2
    for name in (f"resnet{depth}", f"plain{depth}", f"preact_resnet{depth}"):
        assert round(count_parameters(build_model(name)) / 1e6, decimals) == PAPER_PARAMETERS_MILLIONS[depth], name


@pytest.mark.parametrize("depth", sorted(PAPER_FORWARD_MULTIPLY_ADDS))
def test_forward_multiply_adds_match_the_stated_cost(depth):
    assert (
        round(forward_multiply_adds(build_model(f"resnet{depth}")) / 1e6, 1) == PAPER_FORWARD_MULTIPLY_ADDS[depth] / 1e6
    )


def test_layer_count_is_6n_plus_2():
    model = build_model("resnet20")
    weighted = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(weighted) == 20
    # BN after every convolution.
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 19


def test_option_a_shortcut_subsamples_and_zero_pads():
    shortcut = ShortcutA(16, 32, stride=2)
    assert list(shortcut.parameters()) == []
    x = torch.randn(2, 16, 8, 8)
    out = shortcut(x)
    assert out.shape == (2, 32, 4, 4)
    torch.testing.assert_close(out[:, :16], x[:, :, ::2, ::2], rtol=0, atol=0)
    assert torch.count_nonzero(out[:, 16:]) == 0
    same = ShortcutA(16, 16, stride=1)
    assert same(x) is x


def test_residual_and_plain_nets_share_parameter_shapes_and_differ_only_by_the_shortcut():
    torch.manual_seed(0)
    residual = CifarResNet(8)
    plain = CifarResNet(8, residual=False)
    plain.load_state_dict(residual.state_dict())  # same parameters and buffers, name for name
    block = residual.stages[1][0]
    assert isinstance(block, BasicBlock) and block.conv1.stride == (2, 2) and block.shortcut.extra_channels == 16
    x = torch.randn(2, 3, 32, 32)
    residual.eval(), plain.eval()
    assert residual(x).shape == plain(x).shape == (2, 10)
    assert not torch.allclose(residual(x), plain(x))


def test_preactivation_variant_orders_bn_before_conv():
    model = build_model("preact_resnet8")
    assert model.preactivation and model.bn is None and model.final_bn is not None
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", ["resnet21", "resnet2", "vgg16", "resnet"])
def test_bad_names_are_refused(name):
    with pytest.raises(ValueError, match="6n \\+ 2|unknown model"):
        build_model(name)


def test_width_scales_every_stage_and_keeps_the_papers_default():
    narrow = CifarResNet(20, width=4)
    convolutions = [m for m in narrow.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convolutions] == [4] + [4] * 6 + [8] * 6 + [16] * 6
    assert narrow.fc.in_features == 16
    assert count_parameters(CifarResNet(20, width=16)) == count_parameters(build_model("resnet20"))
    # Any image size: 16x16 images leave 4x4 feature maps for the average pooling.
    for preactivation in (False, True):
        assert CifarResNet(8, preactivation=preactivation, width=4)(torch.randn(2, 3, 16, 16)).shape == (2, 10)
