"""Iris centre by a dark-disc fit that lashes, lids and shadows do not pull.

Per image (grey levels, lightly smoothed):
1. darkness d = (bright - image) / (bright - dark), clipped to [0, 1], with `bright` the
   image's 25th and `dark` its 2nd percentile (the sclera and skin lie above a quarter of
   a patch's pixels, the iris about a tenth): iris, pupil, lashes and deep shadow all
   saturate at 1, so a darker lash line is no darker to the fit than it was;
2. for a few radii around a quarter of the patch height (the iris of a centred eye patch)
   the disc score is the mean darkness inside a disc minus the mean darkness of two short
   arcs just outside it, left and right (within ARC_DEG of the horizontal). The iris is
   dark against sclera at its sides; above and below it the lids cover it, so the arcs
   leave out the lid line, lashes and crease: a thin dark curve fills a small part of any
   disc and raises no score, and darkening it moves nothing;
3. the best disc centre, searched away from the patch border (15% of the height, 10% of
   the width) with a mild preference for the patch centre, refined to sub-pixel by a
   parabola through the score's neighbours in x and in y.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

from simgan.evaluate._common import as_images
from simgan.images import convert_channels

RADII = (0.19, 0.215, 0.24, 0.265, 0.29)  # disc radii, shares of the patch height
ARC_DEG = 35.0  # half-angle of the side arcs around the horizontal
ARC_WIDTH = 0.08  # radial width of the side arcs, share of the height (>= 1.5 px)
DARK_PERCENTILE = 2.0
BRIGHT_PERCENTILE = 25.0
CENTRE_PRIOR = 0.08  # score penalty at the patch edge (scores are darkness differences)


def _darkness(images: np.ndarray, sigma: float) -> np.ndarray:
    smooth = ndimage.gaussian_filter(images, sigma=(0, sigma, sigma), mode="nearest")
    bright = np.percentile(smooth, BRIGHT_PERCENTILE, axis=(1, 2), keepdims=True)
    dark = np.percentile(smooth, DARK_PERCENTILE, axis=(1, 2), keepdims=True)
    return np.clip((bright - smooth) / np.maximum(bright - dark, 1.0), 0.0, 1.0)


def _kernel(radius: float, arc_width: float) -> np.ndarray:
    """Disc mean minus side-arc mean, as one correlation kernel (odd square)."""
    half = int(np.ceil(radius + arc_width)) + 1
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    rr = np.hypot(xx, yy)
    disc = rr <= radius
    side = np.abs(np.degrees(np.arctan2(yy, np.abs(xx)))) <= ARC_DEG
    arc = (rr > radius + 0.5) & (rr <= radius + 0.5 + arc_width) & side
    return disc / disc.sum() - arc / arc.sum()


def _subpixel(score: np.ndarray, y: int, x: int) -> tuple[float, float]:
    """Parabola vertex through the score at the peak and its neighbours, per axis."""

    def offset(a: float, b: float, c: float) -> float:
        den = a - 2 * b + c
        return 0.0 if den >= 0 else float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))

    h, w = score.shape
    dx = offset(score[y, x - 1], score[y, x], score[y, x + 1]) if 0 < x < w - 1 else 0.0
    dy = offset(score[y - 1, x], score[y, x], score[y + 1, x]) if 0 < y < h - 1 else 0.0
    return x + dx, y + dy


def iris_centre(images: np.ndarray) -> np.ndarray:
    """uint8 eye images (N, H, W, C) -> float64 (N, 2) iris centres as (x, y) pixels."""
    gray = convert_channels(as_images(images), 1)[..., 0].astype(np.float64)
    n, h, w = gray.shape
    d = _darkness(gray, max(0.7, 0.03 * min(h, w)))
    arc_width = max(1.5, ARC_WIDTH * h)
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2
    best = np.full((n, h, w), -np.inf)
    for share in RADII:
        k = _kernel(share * h, arc_width)
        pad = k.shape[0] // 2
        padded = np.pad(d, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
        score = signal.fftconvolve(padded, k[None, ::-1, ::-1], mode="valid", axes=(1, 2))
        best = np.maximum(best, score)
    best -= CENTRE_PRIOR * r2
    my, mx = max(1, int(0.15 * h)), max(1, int(0.10 * w))
    if h - 2 * my < 1 or w - 2 * mx < 1:
        my = mx = 0
    inner = best[:, my : h - my, mx : w - mx].reshape(n, -1)
    flat = inner.argmax(axis=1)
    ys, xs = np.divmod(flat, w - 2 * mx)
    return np.array([_subpixel(best[i], ys[i] + my, xs[i] + mx) for i in range(n)])
