"""Appearance-only jitter for estimators that must read geometry, not looks.

Every operation here changes grey levels and moves no pixel: a random tone curve (gamma,
then contrast and brightness), a smooth multiplicative shading field (uneven light, darker
lids), a thin dark arc where lashes could be (in half the images), a blend towards a
blurred or a sharpened copy, and sensor noise. No shift, scale, rotation or flip, so an
estimator trained under this jitter becomes insensitive to appearance (what a refiner is
allowed to change) and stays sensitive to the position of the iris (what it must keep).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAMMA_LOG_RANGE = 0.6  # gamma = exp(U(-0.6, 0.6)): 0.55..1.8
CONTRAST_RANGE = (0.6, 1.3)
BRIGHTNESS = 0.2  # +- share of the [-1, 1] range
SHADING = 0.35  # the shading field spans 1 +- this
BLUR_SIGMA = 1.2
SHARPEN = 0.8  # the blend factor goes down to -this (unsharp mask)
NOISE_MAX = 0.08  # noise standard deviation, in [-1, 1] units
LASH_SHARE = 0.5  # share of images that get a dark lash-like arc
LASH_DEPTH = (0.3, 0.9)  # the arc multiplies grey levels by 1 - U(these)
LASH_THICK_PX = (1.5, 4.0)


def _uniform(n: int, lo: float, hi: float, device: torch.device) -> torch.Tensor:
    return (torch.rand(n, 1, 1, 1, device=device) * (hi - lo) + lo).float()


def _blurred(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, int(round(2.5 * sigma)))
    t = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, r, r), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _shading(n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    """A smooth random field 1 +- SHADING per image: a 3x4 grid upsampled bilinearly."""
    grid = torch.rand(n, 1, 3, 4, device=device) * 2 - 1
    field = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=True)
    return 1 + SHADING * torch.rand(n, 1, 1, 1, device=device) * field


def _lash_arc(n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    """A multiplicative field darkening a thin arc (a lash line) in the upper half of
    LASH_SHARE of the images: y = y0 + bend * ((x - x0) / w)^2, LASH_THICK_PX thick."""
    yy = torch.arange(h, device=device, dtype=torch.float32).view(1, 1, h, 1)
    xx = torch.arange(w, device=device, dtype=torch.float32).view(1, 1, 1, w)
    y0 = _uniform(n, 0.15 * h, 0.55 * h, device)
    x0 = _uniform(n, 0.3 * w, 0.7 * w, device)
    bend = _uniform(n, 0.0, 0.8 * h, device)
    thick = _uniform(n, *LASH_THICK_PX, device)
    depth = _uniform(n, *LASH_DEPTH, device) * (torch.rand(n, 1, 1, 1, device=device) < LASH_SHARE)
    line = y0 + bend * ((xx - x0) / w) ** 2
    inside = ((yy - line).abs() <= thick / 2).float()
    return 1 - depth * inside


def appearance_jitter(x: torch.Tensor) -> torch.Tensor:
    """Network-range images (N, C, H, W) in [-1, 1] -> jittered images, same geometry.

    Uses torch's global generator (seed it, e.g. with evaluate._common.seeded)."""
    n, _, h, w = x.shape
    dev = x.device
    u = (x + 1) / 2  # [0, 1]
    gamma = torch.exp(_uniform(n, -GAMMA_LOG_RANGE, GAMMA_LOG_RANGE, dev))
    u = u.clamp(1e-4, 1) ** gamma
    u = u * _shading(n, h, w, dev) * _lash_arc(n, h, w, dev)
    mean = u.mean(dim=(1, 2, 3), keepdim=True)
    u = (u - mean) * _uniform(n, *CONTRAST_RANGE, dev) + mean
    u = u + _uniform(n, -BRIGHTNESS, BRIGHTNESS, dev)
    alpha = _uniform(n, -SHARPEN, 1.0, dev)  # > 0 blurs, < 0 sharpens
    u = u + alpha * (_blurred(u, BLUR_SIGMA) - u)
    u = u + torch.randn_like(u) * _uniform(n, 0.0, NOISE_MAX / 2, dev)
    return (u * 2 - 1).clamp(-1.0, 1.0)
