"""A frozen, seeded random conv network: psi = "features" of the self-regularization loss.

Random convolutional features compare images by local structure (edges, blobs at a few
scales) rather than by raw intensity, and need no download: the weights come from a fixed
seed, so every run (and every resume) builds exactly the same network without saving it.
The network is FROZEN: its parameters have requires_grad=False, it stays in eval mode, and
no optimizer sees it; gradients flow through it to its input (R's output) only.
"""

from __future__ import annotations

import torch
from torch import nn


class RandomFeatures(nn.Module):
    """(N, C, H, W) -> (N, width, H', W'): `layers` conv3x3 + ReLU, the 2nd on stride 2.

    Weights: He-normal from torch.Generator().manual_seed(seed) (the global RNG is not
    touched), biases zero; every parameter frozen."""

    def __init__(self, channels: int = 1, width: int = 16, layers: int = 3, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        modules: list[nn.Module] = []
        c = channels
        for i in range(layers):
            with torch.random.fork_rng(devices=[]):  # Conv2d's default init draws globally
                conv = nn.Conv2d(c, width, 3, stride=2 if i == 1 else 1, padding=1)
            with torch.no_grad():
                fan_in = c * 9
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2 / fan_in) ** 0.5)
                conv.bias.zero_()
            modules += [conv, nn.ReLU()]
            c = width
        self.net = nn.Sequential(*modules)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> RandomFeatures:
        # frozen: stays in eval mode whatever the caller asks (no batch statistics to learn)
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
