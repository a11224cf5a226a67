"""Structural tests for every refiner / discriminator preset (timm style), plus the spec rules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from simgan.errors import SimganError
from simgan.models import (
    DISCRIMINATOR_PRESETS,
    REFINER_PRESETS,
    Discriminator,
    Refiner,
    build_discriminator,
    build_refiner,
    min_input_size,
    patch_grid,
    patch_grid_for,
)

PRESETS = sorted(REFINER_PRESETS)
# (preset, H, W, expected patch map)
GRIDS = [
    ("eyes", 35, 55, (9, 14)),  # the paper's 126 patches
    ("hands", 224, 224, (7, 7)),
    ("tiny", 8, 8, (4, 4)),
    ("tiny", 35, 55, (18, 28)),
    ("eyes", 8, 8, (2, 2)),
]
# Sizes small enough to backprop through on CPU in a fraction of a second.
FAST_SIZE = {"eyes": (18, 28), "hands": (16, 20), "tiny": (8, 8)}


def _images(n: int, c: int, h: int, w: int) -> torch.Tensor:
    return torch.rand(n, c, h, w) * 2 - 1  # (N, C, H, W) in [-1, 1]


def test_presets_cover_both_networks():
    assert set(REFINER_PRESETS) == {"eyes", "hands", "tiny"}
    # every refiner preset has its D; "whole" is a D only (whole 8x8 digits, one verdict)
    assert set(DISCRIMINATOR_PRESETS) == set(REFINER_PRESETS) | {"whole"}


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("preset", "h", "w", "grid"), GRIDS)
def test_discriminator_patch_map(preset, h, w, grid, channels):
    d = build_discriminator(preset, channels)
    with torch.no_grad():
        logits = d(_images(2, channels, h, w))
    assert logits.shape == (2, 2, *grid)
    assert torch.isfinite(logits).all()
    assert patch_grid(preset, h, w) == grid
    assert d.patch_grid(h, w) == grid


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("preset", PRESETS)
def test_refiner_keeps_size_and_range(preset, channels):
    r = build_refiner(preset, channels)
    for h, w in [FAST_SIZE[preset], (9, 13)]:  # fully convolutional: any size, odd too
        x = _images(2, channels, h, w)
        with torch.no_grad():
            y = r(x)
            y_far = r(x * 50)  # far outside the data range: tanh must still bound it
        assert y.shape == x.shape
        assert torch.isfinite(y).all()
        assert y.abs().max() <= 1 and y_far.abs().max() <= 1


@pytest.mark.parametrize("preset", PRESETS)
def test_every_parameter_gets_a_gradient(preset):
    h, w = FAST_SIZE[preset]
    r, d = build_refiner(preset, 3), build_discriminator(preset, 3)
    d(r(_images(2, 3, h, w))).square().mean().backward()
    for name, p in [*r.named_parameters(), *d.named_parameters()]:
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_preset_architectures_match_the_paper():
    eyes, hands = build_refiner("eyes", 1), build_refiner("hands", 1)
    assert len(eyes.blocks) == 4 and eyes.stem[0].kernel_size == (3, 3)
    assert eyes.stem[0].out_channels == 64
    assert len(hands.blocks) == 10 and hands.stem[0].kernel_size == (7, 7)
    assert eyes.head.kernel_size == (1, 1) and eyes.head.out_channels == 1
    convs = [m for m in build_discriminator("eyes", 1).modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (96, 3, 2),
        (64, 3, 2),
        (32, 3, 1),
        (32, 1, 1),
        (2, 1, 1),
    ]
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in eyes.modules())


@pytest.mark.parametrize("preset", PRESETS)
def test_discriminator_logits_have_no_activation(preset):
    d = build_discriminator(preset, 1)
    mods = list(d.layers)
    assert isinstance(mods[-1], nn.Conv2d) and mods[-1].out_channels == 2
    # Every conv but the last is followed by a ReLU (a D without activations is linear).
    for i, m in enumerate(mods[:-1]):
        if isinstance(m, nn.Conv2d):
            assert isinstance(mods[i + 1], nn.ReLU), f"conv {i} has no ReLU"
    # A ReLU (or any squashing) on the logits would turn these -5s into 0 or a probability.
    with torch.no_grad():
        mods[-1].weight.zero_()
        mods[-1].bias.fill_(-5.0)
        logits = d(_images(1, 1, 16, 16))
    assert torch.equal(logits, torch.full_like(logits, -5.0))


def test_untrained_discriminator_gives_negative_logits():
    torch.manual_seed(1)
    logits = build_discriminator("eyes", 1)(_images(4, 1, 35, 55))
    assert (logits < 0).any() and (logits > 0).any()


def test_refiner_is_local():
    """No pooling or striding: a pixel only moves outputs within R's receptive field."""
    r = build_refiner("eyes", 1)  # stem 3x3 + 8 convs 3x3 in the blocks: radius 9
    x = _images(1, 1, 25, 31)
    x2 = x.clone()
    x2[0, 0, 12, 15] = -x2[0, 0, 12, 15] + 0.5
    with torch.no_grad():
        changed = (r(x) - r(x2)).abs()[0, 0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert changed[12, 15]
    assert (rows - 12).abs().max() <= 9 and (cols - 15).abs().max() <= 9


def test_residual_option_starts_at_identity():
    assert Refiner().residual is False
    r = Refiner(channels=1, features=8, blocks=1, residual=True)
    with torch.no_grad():
        r.head.weight.zero_()
        r.head.bias.zero_()
        x = _images(2, 1, 6, 7) * 0.99
        assert torch.allclose(r(x), x, atol=1e-5)
        assert torch.isfinite(r(torch.ones(1, 1, 4, 4))).all()


def test_batch_norm_option_and_overrides():
    r = build_refiner("tiny", 1, norm="batch", blocks=3)
    assert len(r.blocks) == 3
    assert any(isinstance(m, nn.BatchNorm2d) for m in r.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in build_refiner("tiny", 1).modules())
    assert r(_images(2, 1, 8, 8)).shape == (2, 1, 8, 8)
    with pytest.raises(SimganError, match="norm"):
        Refiner(norm="layer")
    with pytest.raises(SimganError, match="odd"):
        Refiner(kernel=4)
    with pytest.raises(SimganError, match="unknown refiner option"):
        build_refiner("tiny", 1, width=3)


def test_unknown_preset_lists_presets():
    for fn in (lambda: build_refiner("face", 1), lambda: build_discriminator("face", 1)):
        with pytest.raises(SimganError, match=r"'face'.*eyes.*hands.*tiny"):
            fn()
    with pytest.raises(SimganError, match="eyes"):
        patch_grid("face", 8, 8)


def test_too_small_image_names_the_minimum():
    layers = [("conv", 8, 3, 1, 0), ("maxpool", 2, 2, 0), ("conv", 2, 3, 1, 0)]
    assert min_input_size(layers) == 8  # 8 -> 6 -> 3 -> 1
    assert patch_grid_for(layers, 8, 10) == (1, 2)
    d = Discriminator(1, layers)
    assert d(_images(1, 1, 8, 8)).shape == (1, 2, 1, 1)
    with pytest.raises(SimganError, match="at least 8"):
        d(_images(1, 1, 7, 20))
    with pytest.raises(SimganError, match="at least 8"):
        patch_grid_for(layers, 20, 7)


def test_layer_specs_are_checked():
    with pytest.raises(SimganError, match="last discriminator layer"):
        Discriminator(1, [("conv", 8, 3, 1), ("conv", 1, 1, 1)])
    with pytest.raises(SimganError, match="last discriminator layer"):
        Discriminator(1, [("conv", 8, 3, 1), ("maxpool", 3, 1)])
    with pytest.raises(SimganError, match="kind"):
        Discriminator(1, [("dense", 8), ("conv", 2, 1, 1)])
    with pytest.raises(SimganError, match="integers"):
        Discriminator(1, [("conv", 8, 3), ("conv", 2, 1, 1)])
    # Lists (as from YAML) are accepted and normalised with their padding.
    d = Discriminator(1, [["conv", 4, 3, 2], ["conv", 2, 1, 1]])
    assert d.layer_specs == [("conv", 4, 3, 2, 1), ("conv", 2, 1, 1, 0)]
    assert Discriminator().layer_specs[0] == ("conv", 96, 3, 2, 1)  # default: eye D
