"""Named architectures: the paper's eye and hand networks, and a tiny one for CPU runs.

Presets are plain data; ``build_refiner`` / ``build_discriminator`` turn them into modules.
Patch maps ('same' padding, kernel // 2):

| preset | input     | refiner                 | D patch map          |
|--------|-----------|-------------------------|----------------------|
| eyes   | 35 x 55   | conv3x3 64, 4 blocks    | 9 x 14 = 126 patches |
| hands  | 224 x 224 | conv7x7 64, 10 blocks   | 7 x 7 = 49 patches   |
| tiny   | 8 x 8     | conv3x3 32, 2 blocks    | 4 x 4 = 16 patches   |
| whole  | 8 x 8     | (D only)                | 1 x 1: the whole digit |

The tiny D (conv3x3 s1 32 -> conv3x3 s2 32 -> conv1x1 16 -> conv1x1 2) halves the input
once, so it gives 4 x 4 on 8 x 8 digits and 18 x 28 on 35 x 55 eyes. Every preset accepts
any channel count and any image size its layers allow (all of them accept 1 x 1 and up,
since 'same' padding never shrinks a map below 1).
"""

from __future__ import annotations

from simgan.errors import SimganError
from simgan.models.discriminator import PAPER_EYE_LAYERS, Discriminator, patch_grid_for
from simgan.models.refiner import Refiner

# Refiner keyword arguments per preset (channels is given at build time).
REFINER_PRESETS: dict[str, dict] = {
    "eyes": {"features": 64, "blocks": 4, "kernel": 3},
    "hands": {"features": 64, "blocks": 10, "kernel": 7},
    "tiny": {"features": 32, "blocks": 2, "kernel": 3},
}

# Discriminator layer specs per preset: ("conv", out, kernel, stride) / ("maxpool", k, s).
DISCRIMINATOR_PRESETS: dict[str, tuple[tuple, ...]] = {
    "eyes": PAPER_EYE_LAYERS,
    # fmt: off
    "hands": (
        ("conv", 96, 7, 4),
        ("conv", 64, 5, 2),
        ("maxpool", 3, 2),
        ("conv", 32, 3, 2),
        ("conv", 32, 1, 1),
        ("conv", 2, 1, 1),
    ),
    "tiny": (("conv", 32, 3, 1), ("conv", 32, 3, 2), ("conv", 16, 1, 1), ("conv", 2, 1, 1)),
    # a D that judges whole 8x8 digits (shape, not only strokes: the local D's patches
    # see 5x5 pixels): halved twice to 2x2, then one 2x2 conv without padding -> 1x1
    "whole": (
        ("conv", 32, 3, 1),
        ("conv", 64, 3, 2),
        ("conv", 64, 3, 2),
        ("conv", 2, 2, 1, 0),
    ),
    # fmt: on
}

_REFINER_OVERRIDES = (
    "features",
    "blocks",
    "kernel",
    "norm",
    "residual",
    "zero_init_last",
    "noise_channels",
)


def _check(preset: str, table: dict) -> None:
    if preset not in table:
        raise SimganError(f"unknown model preset {preset!r}; choose one of {sorted(table)}")


def build_refiner(preset: str, channels: int = 1, **overrides) -> Refiner:
    """Refiner of a named preset; ``overrides`` may set features, blocks, kernel, norm,
    residual, zero_init_last, noise_channels (e.g. ``build_refiner("eyes", 1, norm="batch")``;
    a config's choices: ``build_refiner(m.refiner, c, **m.refiner_options())``)."""
    _check(preset, REFINER_PRESETS)
    unknown = sorted(set(overrides) - set(_REFINER_OVERRIDES))
    if unknown:
        raise SimganError(
            f"unknown refiner option(s) {unknown}; allowed: {list(_REFINER_OVERRIDES)}"
        )
    return Refiner(channels=channels, **{**REFINER_PRESETS[preset], **overrides})


def build_discriminator(
    preset: str, channels: int = 1, *, spectral_norm: bool = False
) -> Discriminator:
    """Discriminator of a named preset, optionally with spectral normalization."""
    _check(preset, DISCRIMINATOR_PRESETS)
    return Discriminator(
        channels=channels, layers=DISCRIMINATOR_PRESETS[preset], spectral_norm=spectral_norm
    )


def patch_grid(preset: str, height: int, width: int) -> tuple[int, int]:
    """(h, w) of the preset's D logit map on a (height, width) image, by arithmetic.

    Raises SimganError naming the minimum size when the image is too small.
    """
    _check(preset, DISCRIMINATOR_PRESETS)
    return patch_grid_for(DISCRIMINATOR_PRESETS[preset], height, width)
