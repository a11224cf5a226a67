"""Differentiable augmentation of D's inputs (DiffAugment, Zhao et al. 2020).

D sees real AND refined images through the same random transforms, and R's adversarial loss
goes through them too, so D cannot memorise the small real set and R is never asked to
produce the transforms themselves (they are applied to both sides alike). Every transform is
differentiable in the image, so R's gradient passes through.

Transforms, applied in this fixed order whatever the order in the policy string:
    brightness   x + U(-b, b) per image
    contrast     (x - mean) * U(1 - c, 1 + c) + mean per image
    translation  a shift of (dy, dx) whole pixels, each in [-t, t] per image; the border
                 is filled by replicating the edge pixels
    cutout       one rectangle of round(f*H) x round(f*W) pixels, centred anywhere in the
                 image, set to 0 (mid-grey in [-1, 1]) per image

Random draws: the parameters (a few numbers per image) are drawn on the CPU with the
generator passed in (the trainer's data generator, which the checkpoint saves), so a resumed
run draws exactly what the uninterrupted one does, on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

POLICIES = ("brightness", "contrast", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """ "translation,cutout" -> ("translation", "cutout"); "" -> (). Raises ValueError on an
    unknown or repeated name."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = sorted(set(names) - set(POLICIES))
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; choose from {list(POLICIES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"augmentation policy {policy!r} names a transform twice")
    return names


@dataclass(frozen=True)
class Augment:
    """A DiffAugment policy and its strengths (see the module docstring)."""

    policy: tuple[str, ...] = ()
    translation_px: int = 2
    cutout: float = 0.25
    brightness: float = 0.2
    contrast: float = 0.2

    @property
    def enabled(self) -> bool:
        return bool(self.policy)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """x (N, C, H, W) -> augmented, same shape; draws from `generator` (CPU)."""
        return diff_augment(x, self, generator)


def _uniform(n: int, low: float, high: float, generator: torch.Generator, like: torch.Tensor):
    u = torch.rand(n, generator=generator) * (high - low) + low
    return u.to(device=like.device, dtype=like.dtype).view(n, 1, 1, 1)


def translate(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Shift image n by (dy[n], dx[n]) whole pixels: out[n, :, y, x] = x[n, :, y - dy, x - dx]
    with coordinates clamped to the image (edge replication). dy, dx: (N,) int64."""
    n, _, h, w = x.shape
    ys = (torch.arange(h).view(1, h) - dy.view(n, 1)).clamp(0, h - 1).to(x.device)  # (N, H)
    xs = (torch.arange(w).view(1, w) - dx.view(n, 1)).clamp(0, w - 1).to(x.device)  # (N, W)
    rows = torch.arange(n, device=x.device).view(n, 1, 1)
    # advanced indices around the channel slice put their dims first: (N, H, W, C)
    return x[rows, :, ys.view(n, h, 1), xs.view(n, 1, w)].permute(0, 3, 1, 2)


def cutout_mask(
    n: int, h: int, w: int, fraction: float, generator: torch.Generator
) -> torch.Tensor:
    """(N, 1, H, W) float mask, 0 inside one random rectangle per image, 1 elsewhere."""
    ch, cw = max(1, round(fraction * h)), max(1, round(fraction * w))
    cy = torch.randint(h, (n, 1), generator=generator)  # rectangle centres
    cx = torch.randint(w, (n, 1), generator=generator)
    ys, xs = torch.arange(h).view(1, h), torch.arange(w).view(1, w)
    inside_y = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch)  # (N, H)
    inside_x = (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)  # (N, W)
    inside = inside_y.view(n, h, 1) & inside_x.view(n, 1, w)
    return (~inside).float().view(n, 1, h, w)


def diff_augment(x: torch.Tensor, aug: Augment, generator: torch.Generator) -> torch.Tensor:
    """Apply `aug`'s transforms to x (N, C, H, W), differentiably; same shape out."""
    if not aug.policy:
        return x
    n, _, h, w = x.shape
    if "brightness" in aug.policy:
        x = x + _uniform(n, -aug.brightness, aug.brightness, generator, x)
    if "contrast" in aug.policy:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * _uniform(n, 1 - aug.contrast, 1 + aug.contrast, generator, x) + mean
    if "translation" in aug.policy and aug.translation_px > 0:
        t = aug.translation_px
        shifts = torch.randint(-t, t + 1, (2, n), generator=generator)
        x = translate(x, shifts[0], shifts[1])
    if "cutout" in aug.policy and aug.cutout > 0:
        mask = cutout_mask(n, h, w, aug.cutout, generator)
        x = x * mask.to(device=x.device, dtype=x.dtype)
    return x
