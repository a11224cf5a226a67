"""Label preservation: pupil centres and the gaze an estimator reads, before and after."""

from __future__ import annotations

import numpy as np
import pytest

from simgan.errors import SimganError
from simgan.evaluate import (
    StopRule,
    iris_centre,
    preservation,
    pupil_centre,
    train_gaze_estimator,
)
from test_eval_toys import toy_eyes


def test_pupil_centre_finds_the_toy_pupil():
    x, _, centres = toy_eyes(50, seed=0)
    err = np.linalg.norm(pupil_centre(x) - centres, axis=1)
    assert np.median(err) < 0.5 and err.max() < 1.5


def test_pupil_centre_ignores_a_dark_corner_and_noise():
    x, _, centres = toy_eyes(20, seed=1, noise=12.0)
    x[:, :10, :8] = 0  # a black shadow in the corner, darker than the pupil
    err = np.linalg.norm(pupil_centre(x) - centres, axis=1)
    assert np.median(err) < 1.0


def test_pupil_centre_of_a_flat_image_is_finite():
    flat = np.full((2, 35, 55, 1), 128, np.uint8)
    c = pupil_centre(flat)
    assert np.isfinite(c).all() and c.shape == (2, 2)


def test_identical_images_preserve_everything():
    x, g, _ = toy_eyes(40, seed=0)
    res = preservation(x, x.copy())
    assert res["pupil_shift_px_mean"] == 0.0 and res["pixel_l1_mean"] == 0.0
    assert res["gaze_shift_deg_mean"] is None and res["gaze_count"] == 0
    assert res["count"] == 40 and res["centre_detector"].startswith("iris_centre")


def test_iris_centre_finds_the_toy_iris():
    x, _, centres = toy_eyes(50, seed=0)
    err = np.linalg.norm(iris_centre(x) - centres, axis=1)
    assert np.median(err) < 0.5 and err.max() < 1.5


def test_a_shifted_pupil_is_measured_in_pixels():
    x, _, _ = toy_eyes(30, seed=0)
    moved = np.roll(x, 3, axis=2)  # every pixel 3 px to the right
    res = preservation(x, moved)
    assert res["pupil_shift_px_median"] == pytest.approx(3.0, abs=0.3)
    assert res["pixel_l1_mean"] > 1


def test_gaze_shift_with_a_given_and_a_trained_estimator():
    x, g, _ = toy_eyes(240, seed=0)
    est = train_gaze_estimator(x, g, seed=0, epochs=2, batch_size=16, lr=2e-3, width=0.125)
    same = preservation(x[:50], x[:50], gaze=g[:50], estimator=est)
    assert same["gaze_shift_deg_mean"] == pytest.approx(0.0, abs=1e-3)
    assert same["gaze_count"] == 50
    assert same["gaze_error_synthetic_deg"] == same["gaze_error_refined_deg"] < 4
    moved = preservation(x[:50], np.roll(x[:50], 4, axis=2), estimator=est)
    # 4 px of iris travel is about 4 / 18 of a unit of gaze x: roughly 13 degrees
    assert 6 < moved["gaze_shift_deg_median"] < 25
    quick = dict(width=0.125, batch_size=16, rule=StopRule(max_steps=20, eval_every=10))
    trained = preservation(x[:120], x[:120], gaze=g[:120], train_kwargs=quick)
    assert trained["gaze_count"] == 24  # measured on the 20% the estimator did not see
    assert trained["gaze_shift_deg_mean"] == pytest.approx(0.0, abs=1e-3)
    assert trained["estimator_error_deg"] == trained["gaze_error_synthetic_deg"] > 0
    assert trained["estimator"]["steps"] == 20 and trained["estimator"]["stopped"] == "max_steps"
    assert trained["estimator"]["train_count"] + trained["estimator"]["val_count"] == 96


def test_mismatched_sets_are_a_clear_error():
    x, _, _ = toy_eyes(10, seed=0)
    with pytest.raises(SimganError, match="one to one"):
        preservation(x, x[:5])
