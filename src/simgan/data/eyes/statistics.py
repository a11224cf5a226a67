"""Measured statistics of a set of eye patches, and a distance between two sets of them.

What the simulator must match in a real set, each a vector that needs no labels:

- rows, cols: mean brightness of each row / column (0..1): where lids, iris, cheek sit;
- mean_image, std_image: the mean and the spread of each pixel over the set, shrunk to a
  quarter of each side (the iris moves with gaze, the lid corners with the framing only);
- iris_x, iris_y: percentiles 10, 25, 50, 75, 90 of the iris centre in pixels (the
  darkest point of the picture blurred to iris scale: lashes are thin and blur away);
- hist: the 16-bin grey-level histogram (flat after MPIIGaze's equalization);
- sharpness: log10 of the mean variance of the Laplacian (blur, texture, noise);
- blockiness: mean step across 8-pixel JPEG block edges over the mean step elsewhere;
- asymmetry: the mean image minus its mirror image (zero for a set with both eye sides
  equally often and symmetric light; used to estimate the share of each side);
- shape_asymmetry: the same without the iris, at a quarter size: for one side it holds the
  eye's own shape (caruncle, lid skew, tilt), not where it looks, which tells a set from
  its mirror image (SHAPE_SCALE is its just-noticeable step; not part of the distance,
  since light from one side makes it nonzero for a set of both sides too).

`statistics_distance` weighs each difference by a just-noticeable step (SCALES), so that
a distance of about 1 per statistic is a difference one would see.
"""

from __future__ import annotations

import cv2
import numpy as np

from simgan.errors import SimganError

QUANTILES = (10, 25, 50, 75, 90)
IRIS_MASK = 0.2  # share of the width: the iris's reach left out of the shape asymmetry
IRIS_BLUR_SIGMA = 0.055  # share of the width: about the iris radius, a lash's many widths
# just-noticeable differences, in each statistic's units
SCALES = {
    "rows": 0.02,
    "cols": 0.02,
    "mean_image": 0.03,
    "std_image": 0.03,
    "iris_x": 1.0,
    "iris_y": 1.0,
    "hist": 0.005,
    "sharpness": 0.1,
    "blockiness": 0.03,
}
SHAPE_SCALE = 0.05
MIN_IMAGES = 20


def _gray(images: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(images)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 3 or a.dtype != np.uint8:
        raise SimganError(
            f"{what}: need grayscale uint8 images (N, H, W) or (N, H, W, 1), "
            f"got {a.dtype} {a.shape}"
        )
    if len(a) < MIN_IMAGES:
        raise SimganError(f"{what}: {len(a)} images, need at least {MIN_IMAGES}")
    return a


def iris_centres(images: np.ndarray) -> np.ndarray:
    """(N, 2) x, y pixel of the darkest point of each picture blurred to iris scale,
    searched away from the border (a tenth of each side)."""
    a = _gray(images, "iris_centres")
    n, h, w = a.shape
    sigma = max(IRIS_BLUR_SIGMA * w, 1.0)
    my, mx = max(h // 10, 1), max(w // 10, 1)
    out = np.empty((n, 2), np.float64)
    for i, im in enumerate(a):
        b = cv2.GaussianBlur(im.astype(np.float32), (0, 0), sigma)[my:-my, mx:-mx]
        y, x = np.unravel_index(int(np.argmin(b)), b.shape)
        out[i] = (x + mx + _vertex(b[y, x - 1 : x + 2]), y + my + _vertex(b[y - 1 : y + 2, x]))
    return out


def _vertex(v: np.ndarray) -> float:
    """Sub-pixel offset of the minimum of a parabola through three samples (0 at an edge)."""
    if len(v) != 3:
        return 0.0
    curve = v[0] - 2 * v[1] + v[2]
    return float(np.clip(0.5 * (v[0] - v[2]) / curve, -0.5, 0.5)) if curve > 1e-6 else 0.0


def _blockiness(f: np.ndarray) -> float:
    """Mean |step| across 8-pixel block edges over the mean |step| inside blocks."""
    dx = np.abs(np.diff(f, axis=2)).mean((0, 1))  # step between columns j and j+1
    dy = np.abs(np.diff(f, axis=1)).mean((0, 2))
    ratios = []
    for d in (dx, dy):
        edge = (np.arange(len(d)) % 8) == 7
        if edge.any() and (~edge).any():
            ratios.append(d[edge].mean() / max(d[~edge].mean(), 1e-6))
    return float(np.mean(ratios)) if ratios else 1.0


def eye_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """The statistics of a set of grayscale uint8 patches (see the module's docstring)."""
    a = _gray(images, "eye_statistics")
    f = a.astype(np.float32) / 255.0
    xy = iris_centres(a)
    lap = [cv2.Laplacian(im, cv2.CV_32F).var() for im in a]
    mean_image = f.mean(0)
    small = (max(a.shape[2] // 4, 1), max(a.shape[1] // 4, 1))
    shrunk_mean = cv2.resize(mean_image, small, interpolation=cv2.INTER_AREA)
    return {
        "rows": f.mean((0, 2)),
        "cols": f.mean((0, 1)),
        "mean_image": shrunk_mean,
        "std_image": cv2.resize(f.std(0), small, interpolation=cv2.INTER_AREA),
        "iris_x": np.percentile(xy[:, 0], QUANTILES),
        "iris_y": np.percentile(xy[:, 1], QUANTILES),
        "hist": np.histogram(a, 16, (0, 256))[0] / a.size,
        "sharpness": np.array([np.log10(max(float(np.mean(lap)), 1e-6))]),
        "blockiness": np.array([_blockiness(f)]),
        "asymmetry": mean_image - mean_image[:, ::-1],
        "shape_asymmetry": _shape_asymmetry(f, xy, small),
    }


def _shape_asymmetry(f: np.ndarray, xy: np.ndarray, small: tuple[int, int]) -> np.ndarray:
    """Mean image without the iris (a disc of IRIS_MASK times the width around each image's
    iris centre left out), shrunk, minus its mirror image: the eye's own left-right shape,
    not where it looks (a gaze to one side would otherwise read as a side)."""
    n, h, w = f.shape
    yy, xx = np.mgrid[0:h, 0:w]
    keep = ((xx[None] - xy[:, :1, None]) ** 2 + (yy[None] - xy[:, 1:, None]) ** 2) > (
        IRIS_MASK * w
    ) ** 2
    mean = (f * keep).sum(0) / np.maximum(keep.sum(0), 1)
    shrunk = cv2.resize(mean.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    return shrunk - shrunk[:, ::-1]


def statistics_distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Sum over the statistics of the mean squared difference in just-noticeable steps."""
    if a["rows"].shape != b["rows"].shape or a["cols"].shape != b["cols"].shape:
        raise SimganError(
            f"statistics of different picture sizes ({len(a['rows'])}x{len(a['cols'])} "
            f"and {len(b['rows'])}x{len(b['cols'])}): render at the real set's size"
        )
    return float(sum(np.mean(((a[k] - b[k]) / s) ** 2) for k, s in SCALES.items()))


def statistics_table(a: dict[str, np.ndarray]) -> dict[str, object]:
    """A short, printable summary: iris centre p10/p50/p90, top/bottom brightness, ..."""
    return {
        "iris_x_p10_50_90": [round(float(v), 1) for v in a["iris_x"][[0, 2, 4]]],
        "iris_y_p10_50_90": [round(float(v), 1) for v in a["iris_y"][[0, 2, 4]]],
        "top_rows": round(float(a["rows"][:5].mean() * 255), 1),
        "bottom_rows": round(float(a["rows"][-5:].mean() * 255), 1),
        "hist_min_max_pct": [
            round(float(a["hist"].min() * 100), 1),
            round(float(a["hist"].max() * 100), 1),
        ],
        "laplacian_var": round(float(10 ** a["sharpness"][0]), 0),
        "jpeg_blockiness": round(float(a["blockiness"][0]), 3),
    }
