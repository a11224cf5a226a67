"""Appearance-only probes: known changes of looks with the geometry kept, for checking yardsticks.

`darker_lashes` darkens a band of skin just above the upper lid line (where lashes and lid
shadow sit), from the simulator's landmarks. The band ends half a pixel above the lid
line, so no pixel of the visible eye (sclera, iris, pupil) changes: a preservation
yardstick that reports the pupil or the gaze moving after it is measuring appearance.
"""

from __future__ import annotations

import numpy as np

from simgan.errors import SimganError
from simgan.evaluate._common import as_images

BAND_PX = 3.0  # height of the darkened band above the upper lid line


def _upper_lid_y(landmarks: np.ndarray, names: tuple[str, ...], w: int) -> np.ndarray:
    """(N, W) y of the upper lid line at every column (linear between its landmarks)."""
    cols = [i for i, name in enumerate(names) if name.startswith("lid_upper_")]
    if not cols:
        raise SimganError("darker_lashes: the landmarks have no 'lid_upper_*' points")
    pts = landmarks[:, cols]  # (N, K, 2)
    out = np.empty((len(landmarks), w))
    for i, p in enumerate(pts):
        order = np.argsort(p[:, 0])
        out[i] = np.interp(np.arange(w), p[order, 0], p[order, 1], left=np.inf, right=np.inf)
    return out


def darker_lashes(
    images: np.ndarray,
    landmarks: np.ndarray,
    names: tuple[str, ...],
    strength: float = 0.6,
    band_px: float = BAND_PX,
) -> np.ndarray:
    """uint8 eyes (N, H, W, C) -> the same eyes with a darker band above the upper lid.

    landmarks: (N, K, 2) pixel (x, y) named by `names` (the simulator's LANDMARK_NAMES).
    Pixels from band_px to 0.5 px above the lid line are multiplied by (1 - strength);
    columns outside the lid's span are left alone.
    """
    images = as_images(images)
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape[:2] != (len(images), len(names)) or landmarks.shape[2:] != (2,):
        raise SimganError(
            f"darker_lashes: landmarks {landmarks.shape}, expected ({len(images)}, {len(names)}, 2)"
        )
    if not 0 <= strength <= 1:
        raise SimganError(f"darker_lashes: strength must be in [0, 1], got {strength}")
    n, h, w, _ = images.shape
    lid = _upper_lid_y(landmarks, names, w)[:, None, :]  # (N, 1, W)
    yy = np.arange(h, dtype=np.float64)[None, :, None]
    band = (yy <= lid - 0.5) & (yy >= lid - band_px)  # (N, H, W)
    scale = np.where(band, 1.0 - strength, 1.0)[..., None]
    return np.clip(np.rint(images * scale), 0, 255).astype(np.uint8)
