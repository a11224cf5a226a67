"""The discriminator D: a small convnet that classifies every local patch as real or refined.

Built from a list of layer specs so that presets are data (see presets.py):

    ("conv", out_channels, kernel, stride[, padding])
    ("maxpool", kernel, stride[, padding])

padding defaults to kernel // 2 ('same'-style), which gives the paper's 9 x 14 = 126
patches for the eye D on 35 x 55 images. A ReLU follows every conv except the last; the
last conv must have 2 output channels and gives raw logits (no activation: a ReLU there
would clip every negative logit to 0 and cripple D, a bug of one public port).

Output: (N, 2, h, w) logits per patch; class 0 = real, class 1 = refined (the paper's
convention: D(x) is the probability that x is refined).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils import parametrizations

from simgan.errors import SimganError

LayerSpec = tuple
# The paper's eye D (35 x 55 -> 9 x 14 patches), the default; presets.py names it "eyes".
PAPER_EYE_LAYERS: tuple[LayerSpec, ...] = (
    ("conv", 96, 3, 2),
    ("conv", 64, 3, 2),
    ("maxpool", 3, 1),
    ("conv", 32, 3, 1),
    ("conv", 32, 1, 1),
    ("conv", 2, 1, 1),
)
KINDS = {"conv": 4, "maxpool": 3}  # kind -> number of required fields including the kind


def normalize_layers(layers: Sequence[Sequence]) -> list[tuple]:
    """Check layer specs and return them as tuples with the padding filled in.

    Accepts lists too (as they come from YAML). Raises SimganError on a malformed spec.
    """
    out: list[tuple] = []
    for i, spec in enumerate(layers):
        spec = tuple(spec)
        kind = spec[0] if spec else None
        if kind not in KINDS:
            raise SimganError(
                f"discriminator layer {i} {spec!r}: kind must be one of {list(KINDS)}"
            )
        n = KINDS[kind]
        if len(spec) not in (n, n + 1) or not all(isinstance(v, int) for v in spec[1:]):
            form = "(conv, out, kernel, stride[, padding])"
            if kind == "maxpool":
                form = "(maxpool, kernel, stride[, padding])"
            raise SimganError(f"discriminator layer {i} {spec!r}: expected integers {form}")
        kernel, stride = spec[n - 2], spec[n - 1]
        padding = spec[n] if len(spec) > n else kernel // 2
        if kernel < 1 or stride < 1 or padding < 0 or (kind == "conv" and spec[1] < 1):
            raise SimganError(f"discriminator layer {i} {spec!r}: sizes must be positive")
        if kind == "maxpool" and padding > kernel // 2:
            raise SimganError(
                f"discriminator layer {i} {spec!r}: maxpool padding must be <= kernel // 2"
            )
        out.append((*spec[:n], padding))
    if not out or out[-1][0] != "conv" or out[-1][1] != 2:
        raise SimganError(
            "the last discriminator layer must be ('conv', 2, kernel, stride): 2 logits "
            f"(real, refined) per patch; got {out[-1] if out else 'no layers'}"
        )
    return out


def _out_size(n: int, layers: list[tuple]) -> int:
    """Spatial size after every layer along one axis; < 1 means the input was too small."""
    for spec in layers:
        kernel, stride, padding = spec[-3:]
        n = (n + 2 * padding - kernel) // stride + 1
        if n < 1:
            return 0
    return n


def min_input_size(layers: Sequence[Sequence]) -> int:
    """Smallest height (or width) for which every layer has an output of at least 1."""
    layers = normalize_layers(layers)
    n = 1
    while _out_size(n, layers) < 1:  # output size is monotone in the input size
        n += 1
    return n


def patch_grid_for(layers: Sequence[Sequence], height: int, width: int) -> tuple[int, int]:
    """Patch-map size (h, w) D produces on a (height, width) image, by arithmetic.

    Raises SimganError naming the minimum size when the image is too small.
    """
    layers = normalize_layers(layers)
    h, w = _out_size(height, layers), _out_size(width, layers)
    if h < 1 or w < 1:
        m = min_input_size(layers)
        raise SimganError(
            f"image size {height}x{width} is too small for this discriminator: "
            f"height and width must be at least {m}; use a smaller preset (e.g. 'tiny')"
        )
    return h, w


class Discriminator(nn.Module):
    """SimGAN discriminator D: (N, C, H, W) in [-1, 1] -> (N, 2, h, w) per-patch logits.

    Args:
        channels: image channels C.
        layers: layer specs (see module docstring); default: the paper's eye D.
        spectral_norm: wrap every conv in spectral normalization (Miyato et al. 2018,
            torch.nn.utils.parametrizations.spectral_norm): each forward in training mode
            runs one power iteration and divides the weight by its top singular value, so
            every conv is (about) 1-Lipschitz. The iteration vectors are buffers of the
            state dict, so a resumed run continues them exactly. Off by default.
    """

    def __init__(
        self,
        channels: int = 1,
        layers: Sequence[Sequence] | None = None,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        if layers is None:
            layers = PAPER_EYE_LAYERS
        if channels < 1:
            raise SimganError(f"discriminator channels must be >= 1 (got {channels})")
        self.channels = channels
        self.layer_specs = normalize_layers(layers)
        self.min_size = min_input_size(self.layer_specs)
        modules: list[nn.Module] = []
        c = channels
        last = len(self.layer_specs) - 1
        for i, spec in enumerate(self.layer_specs):
            if spec[0] == "conv":
                _, out, kernel, stride, padding = spec
                conv = nn.Conv2d(c, out, kernel, stride=stride, padding=padding)
                modules.append(parametrizations.spectral_norm(conv) if spectral_norm else conv)
                if i != last:  # the last conv gives logits: no activation
                    modules.append(nn.ReLU())
                c = out
            else:
                _, kernel, stride, padding = spec
                modules.append(nn.MaxPool2d(kernel, stride=stride, padding=padding))
        self.layers = nn.Sequential(*modules)

    def patch_grid(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) of the logit map for a (height, width) input."""
        return patch_grid_for(self.layer_specs, height, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, C, H, W) real or refined images in [-1, 1]
        # Python-level size check for eager use; skipped while tracing or exporting.
        if not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            if x.shape[-1] < self.min_size or x.shape[-2] < self.min_size:
                self.patch_grid(x.shape[-2], x.shape[-1])  # raises the SimganError
        return self.layers(x)  # (N, 2, h, w) logits; class 0 = real, 1 = refined
