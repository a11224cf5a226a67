"""The iris-centre detector of the preservation score: right on renders with a known iris,
and not moved by darker lashes (an appearance-only change that leaves the eye opening as it
was)."""

from __future__ import annotations

import numpy as np
import pytest

from simgan.data.eyes import LANDMARK_NAMES, render_eyes
from simgan.errors import SimganError
from simgan.evaluate import pupil_centre
from simgan.evaluate.appearance_probe import darker_lashes
from simgan.evaluate.iris_centre import iris_centre

MEDIAN_ERROR_PX = 1.6  # bound on the median distance to the true iris centre
LASH_GROWTH_PX = 0.5  # bound on how much darker lashes may raise that median
BLACK_LASH_GROWTH_PX = 0.8  # the same bound for black lashes in a 5 px band
IRIS = LANDMARK_NAMES.index("iris_center")


def _renders(size: tuple[int, int]):
    x, labels = render_eyes(300, seed=11, size=size)
    return x, labels["landmarks"], labels["landmarks"][:, IRIS]


def _median_error(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.median(np.linalg.norm(found - truth, axis=1)))


@pytest.mark.parametrize("size", [(35, 55), (36, 60)])
def test_iris_centre_is_near_the_rendered_iris(size):
    x, _, truth = _renders(size)
    assert _median_error(iris_centre(x), truth) < MEDIAN_ERROR_PX


@pytest.mark.parametrize("size", [(35, 55), (36, 60)])
def test_darker_lashes_do_not_move_the_iris_centre(size):
    x, marks, truth = _renders(size)
    dark = darker_lashes(x, marks, LANDMARK_NAMES, strength=0.85, band_px=4.0)
    before, after = iris_centre(x), iris_centre(dark)
    assert _median_error(after, truth) - _median_error(before, truth) < LASH_GROWTH_PX
    assert np.median(np.linalg.norm(after - before, axis=1)) < 0.5


def test_the_lash_probe_fools_the_darkest_blob_finder():
    """Black lashes in a 5 px band: the old pupil finder (darkest blob) merges them with the
    iris and its error grows by more than 2 px (measured 2.5); the disc fit's by less than
    BLACK_LASH_GROWTH_PX (measured 0.4-0.5)."""
    x, marks, truth = _renders((36, 60))
    dark = darker_lashes(x, marks, LANDMARK_NAMES, strength=1.0, band_px=5.0)
    growth = _median_error(pupil_centre(dark), truth) - _median_error(pupil_centre(x), truth)
    assert growth > 2.0
    new_growth = _median_error(iris_centre(dark), truth) - _median_error(iris_centre(x), truth)
    assert new_growth < BLACK_LASH_GROWTH_PX


def test_the_lash_probe_changes_no_pixel_of_the_eye_opening():
    x, marks, _ = _renders((35, 55))
    dark = darker_lashes(x, marks, LANDMARK_NAMES, strength=1.0)
    changed = dark != x
    assert changed.any()
    lid = marks[:, [i for i, n in enumerate(LANDMARK_NAMES) if n.startswith("lid_upper_")]]
    ys = np.nonzero(changed)[1]
    # every darkened pixel lies above the lowest point of its image's upper lid line
    assert (ys <= lid[..., 1].max(axis=1)[np.nonzero(changed)[0]]).all()


def test_iris_centre_shifts_with_the_image_and_handles_odd_input():
    x, _, _ = _renders((35, 55))
    moved = np.roll(x[:50], 2, axis=2)
    shift = iris_centre(moved) - iris_centre(x[:50])
    assert np.median(shift[:, 0]) == pytest.approx(2.0, abs=0.3)
    flat = np.full((2, 35, 55, 1), 128, np.uint8)
    assert np.isfinite(iris_centre(flat)).all()
    with pytest.raises(SimganError):
        darker_lashes(x[:2], np.zeros((2, 3, 2)), LANDMARK_NAMES)
