"""Image features for KID that need no downloaded weights: a fixed, seeded random CNN.

KID is usually computed on ImageNet Inception features. Those weights are a download and
are tuned to 299x299 colour photographs, not 35x55 grayscale eyes, so simgan uses a
random-init CNN instead: four 3x3 conv + ReLU stages (32, 64, 128, 128 channels, Kaiming
normal weights drawn from a fixed seed, zero biases), average-pooled by 2 between stages.
The feature vector is, for the input and for every stage, each channel's spatial mean and
standard deviation (1 + 4 scales): 2 * (C + 32 + 64 + 128 + 128) numbers.

What this measures, honestly: random convolutional features respond to local intensity,
contrast, edge and texture statistics at several scales (random networks are known to be
surprisingly good texture descriptors), so KID on them compares those statistics between two
sets. It knows nothing of semantics ("is this an eye"), its absolute values are not
comparable with published Inception-KID numbers, and they change with the seed: compare runs
only with the same seed and image size. Real vs real scores near 0 (the estimator is
unbiased); larger means further apart.

`features="pixels"`: the images shrunk to 12x20 and flattened, a baseline that sees
layout and intensity but no texture.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from simgan.errors import SimganError
from simgan.evaluate._common import seeded
from simgan.images import resize_images, to_network, u8_to_unit_np

STAGE_CHANNELS = (32, 64, 128, 128)
FEATURE_KINDS = ("random-cnn", "pixels")


class RandomFeatureNet(nn.Module):
    """Fixed random CNN: (N, C, H, W) in [-1, 1] -> (N, D) pooled multi-scale statistics."""

    def __init__(self, channels: int, seed: int = 0) -> None:
        super().__init__()
        with seeded(seed):
            convs, c = [], channels
            for out in STAGE_CHANNELS:
                conv = nn.Conv2d(c, out, 3, padding=1)
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                nn.init.zeros_(conv.bias)
                convs.append(conv)
                c = out
        self.convs = nn.ModuleList(convs)
        self.pool = nn.AvgPool2d(2, ceil_mode=True)
        self.requires_grad_(False)
        self.dim = 2 * (channels + sum(STAGE_CHANNELS))

    @staticmethod
    def _stats(x: torch.Tensor) -> list[torch.Tensor]:
        flat = x.flatten(2)
        return [flat.mean(2), flat.std(2, unbiased=False)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self._stats(x)
        for i, conv in enumerate(self.convs):
            if i:
                x = self.pool(x)
            x = torch.relu(conv(x))
            feats += self._stats(x)
        return torch.cat(feats, dim=1)


@torch.no_grad()
def image_features(
    images: np.ndarray,
    kind: str = "random-cnn",
    seed: int = 0,
    batch_size: int = 512,
    device: str = "cpu",
) -> np.ndarray:
    """uint8 (N, H, W, C) -> float64 (N, D) features of the named kind (see module doc)."""
    if kind not in FEATURE_KINDS:
        raise SimganError(
            f"unknown KID features '{kind}'; choose one of {', '.join(FEATURE_KINDS)}"
        )
    if kind == "pixels":
        small = u8_to_unit_np(resize_images(images, (12, 20)), np.float64)
        return small.reshape(len(images), -1)
    net = RandomFeatureNet(images.shape[-1], seed).to(device).eval()
    out = [
        net(to_network(images[s : s + batch_size], device)).double().cpu()
        for s in range(0, len(images), batch_size)
    ]
    return torch.cat(out).numpy()
