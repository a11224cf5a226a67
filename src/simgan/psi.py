"""The feature maps psi of the self-regularization loss |psi(R(x)) - psi(x)|.

Which change of an image psi makes cheap decides what R may do to keep the label. The pixel
identity (the paper) charges an appearance change (contrast, brightness, texture) more than
a small move of the eye, which changes the label (issue 14: a perfect appearance transform
costs 0.43 in [-1, 1] units, a 2 px shift 0.19). Maps that factor out local brightness and
contrast reverse that order:

    identity    x                                           (N, C, H, W)
    mean        mean over channels                          (N, 1, H, W)
    downsample  2x2 average pool, keeps coarse content      (N, C, ceil(H/2), ceil(W/2))
    lcn         local contrast normalization: (x - local mean) / (local std + eps), the
                local statistics under a Gaussian window of `sigma` px  (N, C, H, W)
    gradients   central-difference d/dx and d/dy, per image divided by the mean gradient
                magnitude when `normalize`                  (N, 2C, H, W)
    features    a frozen network's feature map (simgan.models.random_features)

All of them are differentiable, so the gradient of the loss reaches R through psi(R(x)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PSI = ("identity", "mean", "downsample", "lcn", "gradients", "features")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Per-channel Gaussian blur of (N, C, H, W), kernel radius ceil(3 sigma), reflected
    edges (so a flat image stays flat up to its border). Same shape out."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    # reflect padding needs the pad below the size; replicate covers tiny images
    mode = "reflect" if min(x.shape[-2:]) > radius else "replicate"
    y = F.pad(x, (radius, radius, 0, 0), mode=mode)
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = F.pad(y, (0, 0, radius, radius), mode=mode)
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def local_contrast_normalize(x: torch.Tensor, sigma: float = 2.0, eps: float = 0.1) -> torch.Tensor:
    """(x - mu) / (s + eps) with mu, s the Gaussian-weighted local mean and std of x.

    Invariant to x -> a * x + b (a > 0) up to eps, which keeps flat regions (s ~ 0) from
    amplifying noise; eps is in the units of x (0.1 is 5% of the [-1, 1] range)."""
    mu = gaussian_blur(x, sigma)
    var = (gaussian_blur(x * x, sigma) - mu * mu).clamp_min(0.0)
    # the +1e-12 keeps the sqrt's gradient finite where the window is exactly flat
    return (x - mu) / (torch.sqrt(var + 1e-12) + eps)


def image_gradients(x: torch.Tensor, normalize: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """Central differences (N, C, H, W) -> (N, 2C, H, W): [d/dx of every channel, d/dy of
    every channel], replicated edges. With `normalize`, each image is divided by its mean
    gradient magnitude, which removes a global contrast change."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    gx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) / 2
    gy = (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) / 2
    g = torch.cat([gx, gy], dim=1)
    if normalize:
        magnitude = torch.sqrt(gx**2 + gy**2 + eps**2).mean(dim=(1, 2, 3), keepdim=True)
        g = g / magnitude
    return g


def psi_transform(
    x: torch.Tensor,
    psi: str = "identity",
    *,
    sigma: float = 2.0,
    eps: float = 0.1,
    normalize: bool = False,
    features: nn.Module | None = None,
) -> torch.Tensor:
    """psi(x) for x (N, C, H, W); see the module docstring for each choice.

    sigma, eps: lcn's window and floor; normalize: gradients only; features: the frozen
    network psi="features" runs (required for it)."""
    if psi == "identity":
        return x
    if psi == "mean":
        return x.mean(dim=1, keepdim=True)
    if psi == "downsample":
        # ceil_mode averages the partial window on an odd edge instead of dropping that row.
        return F.avg_pool2d(x, 2, ceil_mode=True)
    if psi == "lcn":
        return local_contrast_normalize(x, sigma, eps)
    if psi == "gradients":
        return image_gradients(x, normalize)
    if psi == "features":
        if features is None:
            raise ValueError("psi='features' needs the frozen feature network (features=...)")
        return features(x)
    raise ValueError(f"unknown psi {psi!r}; choose one of {list(PSI)}")
