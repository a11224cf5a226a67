"""Toy eyes with exact gaze labels for the evaluation tests (no simulator needed).

An eye is a bright sclera ellipse on skin with a dark iris disc and pupil; the iris moves
with the gaze (x right, y down), so the gaze is readable from the pixels. Other test files
import `toy_eyes` from here.
"""

from __future__ import annotations

import numpy as np

from simgan.data.gaze_conventions import pitchyaw_to_vector

IRIS_SHIFT_PX = 18.0  # pixels the iris centre moves per unit of gaze x or y


def toy_eyes(
    n: int, seed: int = 0, size: tuple[int, int] = (35, 55), noise: float = 4.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> images uint8 (n, H, W, 1), gaze float32 (n, 3), iris centres float (n, 2) as (x, y)."""
    rng = np.random.default_rng(seed)
    h, w = size
    gaze = pitchyaw_to_vector(rng.uniform(-0.35, 0.35, (n, 2)))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    sclera = np.clip(1.5 - ((xx - cx) / (0.42 * w)) ** 2 - ((yy - cy) / (0.36 * h)) ** 2, 0, 1)
    centres = np.stack([cx + IRIS_SHIFT_PX * gaze[:, 0], cy + IRIS_SHIFT_PX * gaze[:, 1]], 1)
    r_iris, r_pupil = 0.2 * h, 0.09 * h
    images = np.empty((n, h, w, 1), np.uint8)
    skin = rng.uniform(140, 190, n)
    for i in range(n):
        d = np.hypot(xx - centres[i, 0], yy - centres[i, 1])
        iris = np.clip(r_iris + 0.5 - d, 0, 1) * sclera
        pupil = np.clip(r_pupil + 0.5 - d, 0, 1) * sclera
        im = skin[i] + (225 - skin[i]) * sclera
        im = im * (1 - iris) + 95 * iris
        im = im * (1 - pupil) + 25 * pupil
        im = im + rng.normal(0, noise, im.shape)
        images[i, ..., 0] = np.clip(np.rint(im), 0, 255).astype(np.uint8)
    return images, gaze, centres


def test_toy_eyes_are_seeded_and_the_iris_follows_the_gaze():
    a, g, c = toy_eyes(20, seed=3)
    b, g2, _ = toy_eyes(20, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(g, g2)
    assert a.shape == (20, 35, 55, 1) and g.shape == (20, 3)
    # the darkest pixel lies close to the pupil centre
    flat = a[..., 0].reshape(20, -1).argmin(1)
    ys, xs = np.unravel_index(flat, (35, 55))
    assert np.median(np.hypot(xs - c[:, 0], ys - c[:, 1])) < 3.0
