"""Label preservation: how far refinement moves what the label describes.

The refiner must change appearance, not the gaze. Two read-outs:
- the iris centre, found directly in the pixels by a dark-disc fit that lashes and lids do
  not pull (`iris_centre`), before and after;
- the gaze that an estimator trained on synthetic images under appearance-only jitter, to a
  plateau of its validation error (`train_preservation_estimator`), reads from the synthetic
  image and from its refined version (a perfect refiner for gaze leaves it unchanged).
`pupil_centre`, the earlier darkest-blob finder, stays for comparison: lashes darker than
the iris merge with it and move its answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from simgan.data.gaze_conventions import angular_error_deg
from simgan.errors import SimganError
from simgan.evaluate._common import as_gaze, as_images, split_indices
from simgan.evaluate.gaze_estimation import predict_gaze
from simgan.evaluate.iris_centre import iris_centre
from simgan.evaluate.preservation_estimator import train_preservation_estimator
from simgan.images import convert_channels

CENTRE_DETECTOR = "iris_centre: dark-disc fit with side arcs (simgan.evaluate.iris_centre)"
CENTRE_PRIOR = 0.25  # penalty at the patch edge, as a share of the image's (median - min)


def pupil_centre(images: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """uint8 eye images (N, H, W, C) -> float64 (N, 2) pupil centres as (x, y) pixels.

    The earlier preservation read-out, kept for comparison (iris_centre replaced it): the
    darkest blob after Gaussian smoothing (sigma default 6% of the shorter side, which
    removes noise, eyelashes and specular glints smaller than the pupil). The search for the
    darkest point skips a border of 15% of the height and 10% of the width, where eyebrows,
    shadows and eye corners are dark, and adds a mild penalty growing with the distance from
    the image centre (eye patches are centred on the eye), so a dark corner loses to an
    almost-as-dark pupil. The centre is the darkness-weighted centroid of the connected
    region around that point darker than min + 0.3 * (median - min).
    """
    images = convert_channels(as_images(images), 1)[..., 0].astype(np.float64)
    n, h, w = images.shape
    s = sigma if sigma is not None else max(1.0, 0.06 * min(h, w))
    smooth = ndimage.gaussian_filter(images, sigma=(0, s, s), mode="nearest")
    my, mx = max(1, int(0.15 * h)), max(1, int(0.10 * w))
    if h - 2 * my < 1 or w - 2 * mx < 1:
        my = mx = 0
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2
    out = np.empty((n, 2))
    for i in range(n):
        im = smooth[i]
        spread = np.median(im) - im.min()
        score = (im + CENTRE_PRIOR * spread * r2)[my : h - my, mx : w - mx]
        k = int(np.argmin(score))
        inner = score
        y0, x0 = k // inner.shape[1] + my, k % inner.shape[1] + mx
        lo, med = im[y0, x0], np.median(im)
        thresh = lo + 0.3 * (med - lo)
        blobs, _ = ndimage.label(im <= thresh)
        mask = blobs == blobs[y0, x0]
        weight = (thresh - im) * mask + 1e-9 * mask
        total = weight.sum()
        out[i] = ((weight * xx).sum() / total, (weight * yy).sum() / total)
    return out


def preservation(
    synthetic: np.ndarray,
    refined: np.ndarray,
    gaze: np.ndarray | None = None,
    estimator: Any = None,
    *,
    train_kwargs: dict[str, Any] | None = None,
    holdout_fraction: float = 0.2,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare synthetic images with their refined versions (same order, same shape).

    Always: pupil_shift_px_mean / _median / _p95 (distance between the iris_centre of each
    synthetic image and of its refined version), centre_detector, pixel_l1_mean (mean
    |refined - synthetic| in gray levels, 0..255) and count.
    With an `estimator` (a GazeEstimator trained on synthetic): gaze_shift_deg_mean /
    _median, the angle between the gaze it reads from each synthetic image and from its
    refined version. Without one but with `gaze` labels, one is trained here on a (1 -
    holdout_fraction) share of the synthetic images (train_preservation_estimator with
    train_kwargs: appearance jitter, stopped at a plateau of its validation error; its
    record is under "estimator") and the gaze keys are measured on the held-out rest, which
    it never saw. With `gaze` also: gaze_error_synthetic_deg and gaze_error_refined_deg, the
    estimator's mean error against the labels on either version (a refined error well above
    the synthetic one means refinement changed the gaze); estimator_error_deg repeats the
    first: the yardstick's own error on clean held-out synthetic eyes, the scale to read the
    gaze shift against. Keys that cannot be measured are None.
    """
    synthetic = as_images(synthetic, "synthetic images")
    refined = as_images(refined, "refined images")
    if synthetic.shape != refined.shape:
        raise SimganError(
            f"refined images {refined.shape} must match the synthetic images {synthetic.shape} "
            "one to one (same order, same size)"
        )
    n = len(synthetic)
    shift = np.linalg.norm(iris_centre(synthetic) - iris_centre(refined), axis=1)
    out: dict[str, Any] = {
        "pupil_shift_px_mean": float(shift.mean()),
        "pupil_shift_px_median": float(np.median(shift)),
        "pupil_shift_px_p95": float(np.percentile(shift, 95)),
        "centre_detector": CENTRE_DETECTOR,
        "pixel_l1_mean": float(np.abs(refined.astype(np.int16) - synthetic).mean()),
        "count": n,
        "gaze_shift_deg_mean": None,
        "gaze_shift_deg_median": None,
        "gaze_error_synthetic_deg": None,
        "gaze_error_refined_deg": None,
        "estimator_error_deg": None,
        "gaze_count": 0,
    }
    if gaze is not None:
        gaze = as_gaze(gaze, n)
    idx = np.arange(n)
    if estimator is None and gaze is not None:
        train_idx, idx = split_indices(n, holdout_fraction, np.random.default_rng(seed))
        if len(idx) == 0 or len(train_idx) == 0:
            raise SimganError(f"preservation: {n} images are too few to train and hold out")
        kw = {"seed": seed, **(train_kwargs or {})}
        estimator, out["estimator"] = train_preservation_estimator(
            synthetic[train_idx], gaze[train_idx], **kw
        )
    if estimator is None:
        return out
    g_syn = predict_gaze(estimator, synthetic[idx])
    g_ref = predict_gaze(estimator, refined[idx])
    moved = angular_error_deg(g_syn, g_ref)
    out.update(
        gaze_shift_deg_mean=float(moved.mean()),
        gaze_shift_deg_median=float(np.median(moved)),
        gaze_count=int(len(idx)),
    )
    if gaze is not None:
        out["gaze_error_synthetic_deg"] = float(angular_error_deg(g_syn, gaze[idx]).mean())
        out["gaze_error_refined_deg"] = float(angular_error_deg(g_ref, gaze[idx]).mean())
        out["estimator_error_deg"] = out["gaze_error_synthetic_deg"]
    return out
