"""The refiner R: a fully convolutional ResNet that edits a synthetic image pixel by pixel.

Paper (eyes): conv3x3 64 -> 4 ResNet blocks (two conv3x3 64, identity skip) -> conv1x1 1.
No striding and no pooling, so the output has the input's size and every output pixel only
sees a small neighbourhood: R can change texture and noise but keeps the global geometry,
and with it the annotation (gaze direction, joint positions).

Like most implementations we add ReLUs (after the first conv and inside/after each block)
and a tanh, so the output lives in [-1, 1] like the input.
"""

from __future__ import annotations

import torch
from torch import nn

from simgan.errors import SimganError

NORMS = ("none", "batch", "instance")


def _norm(kind: str, features: int) -> nn.Module:
    # Normalization is an option, not the paper's default; with it the conv bias is redundant.
    if kind == "batch":
        return nn.BatchNorm2d(features)
    if kind == "instance":
        return nn.InstanceNorm2d(features, affine=True)
    return nn.Identity()


class ResnetBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3, identity skip, ReLU after the add. Keeps (N, F, H, W)."""

    def __init__(self, features: int, norm: str = "none") -> None:
        super().__init__()
        bias = norm == "none"
        self.conv1 = nn.Conv2d(features, features, 3, padding=1, bias=bias)
        self.norm1 = _norm(norm, features)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1, bias=bias)
        self.norm2 = _norm(norm, features)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return self.relu(x + y)


class Refiner(nn.Module):
    """SimGAN refiner R: (N, C, H, W) in [-1, 1] -> (N, C, H, W) in [-1, 1], any H, W.

    Args:
        channels: image channels C (1 for grayscale eyes and depth hands, 3 for colour).
        features: width of every hidden conv.
        blocks: number of ResNet blocks.
        kernel: kernel size of the first conv (3 for eyes, 7 for hands); odd, 'same' padding.
        norm: "none" (paper), "batch" or "instance" (affine InstanceNorm).
        residual: if True, R predicts a correction added to the input before the tanh
            (``tanh(atanh(x) + f(x))``), so a zero correction is the identity. Not in the
            paper, off by default.
        zero_init_last: zero the last conv's weights and bias, so f(x) = 0 at init; with
            ``residual`` R then starts as the identity (to float rounding, ~1e-6).
        noise_channels: K > 0 appends K channels of N(0, 1) noise to the input (PixelDA);
            drawn from the global torch RNG in every forward (the checkpoint saves it), so
            refinement is random unless the caller seeds torch.
    """

    def __init__(
        self,
        channels: int = 1,
        features: int = 64,
        blocks: int = 4,
        kernel: int = 3,
        norm: str = "none",
        residual: bool = False,
        zero_init_last: bool = False,
        noise_channels: int = 0,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise SimganError(f"refiner norm {norm!r} is unknown; use one of {list(NORMS)}")
        if kernel < 1 or kernel % 2 == 0:
            raise SimganError(f"refiner kernel {kernel} must be odd so the output keeps its size")
        if noise_channels < 0:
            raise SimganError(f"refiner noise_channels must be >= 0 (got {noise_channels})")
        if channels < 1 or features < 1 or blocks < 0:
            raise SimganError(
                f"refiner needs channels >= 1, features >= 1, blocks >= 0 "
                f"(got channels={channels}, features={features}, blocks={blocks})"
            )
        self.channels = channels
        self.residual = residual
        self.noise_channels = noise_channels
        self.stem = nn.Sequential(
            nn.Conv2d(
                channels + noise_channels,
                features,
                kernel,
                padding=kernel // 2,
                bias=norm == "none",
            ),
            _norm(norm, features),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(*(ResnetBlock(features, norm) for _ in range(blocks)))
        self.head = nn.Conv2d(features, channels, 1)
        if zero_init_last:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, C, H, W) synthetic images in [-1, 1]
        h = x
        if self.noise_channels:
            n, _, height, width = x.shape
            noise = torch.randn(n, self.noise_channels, height, width, device=x.device)
            h = torch.cat([x, noise.to(x.dtype)], dim=1)
        y = self.head(self.blocks(self.stem(h)))
        if self.residual:
            # Clamp in float32 (1 - 1e-6 rounds to 1 in float16) so atanh stays finite at +-1.
            y = y + torch.atanh(x.float().clamp(-1 + 1e-6, 1 - 1e-6))
        return torch.tanh(y)  # (N, C, H, W) refined, in [-1, 1]
