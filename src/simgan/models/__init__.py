"""Networks of SimGAN as plain nn.Modules: the refiner R and the patch discriminator D.

Models take explicit arguments only (no file access, no config parsing); presets.py maps
the names "eyes", "hands" and "tiny" to the paper's (or a CPU-sized) architecture.
RandomFeatures is the frozen, seeded network of the self-regularization's psi="features".
"""

from simgan.models.discriminator import Discriminator, min_input_size, patch_grid_for
from simgan.models.presets import (
    DISCRIMINATOR_PRESETS,
    REFINER_PRESETS,
    build_discriminator,
    build_refiner,
    patch_grid,
)
from simgan.models.random_features import RandomFeatures
from simgan.models.refiner import Refiner, ResnetBlock

__all__ = [
    "DISCRIMINATOR_PRESETS",
    "REFINER_PRESETS",
    "Discriminator",
    "RandomFeatures",
    "Refiner",
    "ResnetBlock",
    "build_discriminator",
    "build_refiner",
    "min_input_size",
    "patch_grid",
    "patch_grid_for",
]
