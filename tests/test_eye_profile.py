"""Eye profiles: what the simulator draws (sides, camera, ranges) and their JSON files."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from simgan.data import DatasetReader
from simgan.data.eyes import (
    DEFAULT_PROFILE,
    LANDMARK_NAMES,
    EyeProfile,
    load_profile,
    render_eyes,
    save_profile,
    write_synthetic_eyes,
)
from simgan.data.eyes.profile import profile_from_dict
from simgan.data.eyes.statistics import iris_centres
from simgan.errors import SimganError

L = {name: i for i, name in enumerate(LANDMARK_NAMES)}
RAW = replace(DEFAULT_PROFILE, equalize=False, jpeg_quality=0)


def test_mirrored_eyes_are_the_left_ones_flipped_with_their_labels():
    left, a = render_eyes(30, seed=4, size=(36, 60), profile=replace(RAW, mirror_share=0.0))
    right, b = render_eyes(30, seed=4, size=(36, 60), profile=replace(RAW, mirror_share=1.0))
    assert (a["side"] == 0).all() and (b["side"] == 1).all()
    np.testing.assert_array_equal(right, left[:, :, ::-1])
    np.testing.assert_allclose(b["gaze"][:, 0], -a["gaze"][:, 0])
    np.testing.assert_allclose(b["gaze"][:, 1:], a["gaze"][:, 1:])
    np.testing.assert_allclose(b["landmarks"][..., 0], 59 - a["landmarks"][..., 0], atol=1e-4)
    np.testing.assert_allclose(b["landmarks"][..., 1], a["landmarks"][..., 1])
    np.testing.assert_allclose(b["head_pose"][:, 0], a["head_pose"][:, 0])
    np.testing.assert_allclose(b["head_pose"][:, 1:], -a["head_pose"][:, 1:])
    # the inner corner (caruncle side) is on the image's right for a right eye
    assert (b["landmarks"][:, L["corner_inner"], 0] > b["landmarks"][:, L["corner_outer"], 0]).all()


def test_labels_follow_the_picture_on_both_sides():
    """The iris label stays on the dark blob whichever side is drawn (after equalization)."""
    images, labels = render_eyes(300, seed=5, size=(36, 60))
    found = iris_centres(images)
    err = np.hypot(*(found - labels["landmarks"][:, L["iris_center"]]).T)
    for side in (0, 1):
        assert np.median(err[labels["side"] == side]) < 2.0
    # gaze x > 0 mostly puts the iris right of the corners' midpoint (the head turns too),
    # and as often on either side
    mid = labels["landmarks"][:, [L["corner_inner"], L["corner_outer"]], 0].mean(1)
    agree = np.sign(labels["landmarks"][:, L["iris_center"], 0] - mid) == np.sign(
        labels["gaze"][:, 0]
    )
    big = np.abs(labels["gaze"][:, 0]) > 0.12
    shares = [agree[big & (labels["side"] == side)].mean() for side in (0, 1)]
    assert min(shares) > 0.75 and abs(shares[0] - shares[1]) < 0.12


def test_equalized_histogram_is_flat_and_jpeg_changes_the_picture():
    images, _ = render_eyes(200, seed=6, size=(36, 60))
    shares = np.stack([np.histogram(im, 16, (0, 256))[0] / im.size for im in images])
    assert (np.median(shares, 0) > 0.04).all() and (np.median(shares, 0) < 0.09).all()
    raw, _ = render_eyes(200, seed=6, size=(36, 60), profile=RAW)
    raw_shares = np.stack([np.histogram(im, 16, (0, 256))[0] / im.size for im in raw])
    assert np.median(raw_shares.std(1)) > 2 * np.median(shares.std(1))
    jpeg = replace(DEFAULT_PROFILE, jpeg_quality=60)
    a, _ = render_eyes(20, seed=6, size=(36, 60), profile=jpeg)
    b, _ = render_eyes(20, seed=6, size=(36, 60), profile=jpeg)
    assert a.tobytes() == b.tobytes() and 0.5 < np.abs(a - images[:20].astype(int)).mean() < 15


def test_profile_ranges_change_what_is_drawn():
    low = DEFAULT_PROFILE.with_ranges(shift_y=(-0.2, -0.2))
    high = DEFAULT_PROFILE.with_ranges(shift_y=(0.05, 0.05))
    _, a = render_eyes(20, seed=1, size=(36, 60), profile=low)
    _, b = render_eyes(20, seed=1, size=(36, 60), profile=high)
    dy = b["landmarks"][:, L["corner_inner"], 1] - a["landmarks"][:, L["corner_inner"], 1]
    np.testing.assert_allclose(dy, 0.25 * 36, atol=1e-3)


def test_profile_json_round_trip_and_file_attribute(tmp_path):
    prof = replace(
        DEFAULT_PROFILE.with_ranges(blur=(0.1, 0.2)),
        pitch_range=(-10, 5),
        mirror_share=0.25,
        jpeg_quality=75,
    )
    path = save_profile(prof, tmp_path / "p.json", note="x")
    assert load_profile(path) == prof
    assert json.loads(path.read_text())["fit"] == {"note": "x"}
    with pytest.raises(SimganError, match="--overwrite|exists"):
        save_profile(prof, path)
    out = write_synthetic_eyes(tmp_path / "s.h5", 10, seed=2, size=(36, 60), profile=prof)
    with DatasetReader(out) as r:
        assert profile_from_dict(json.loads(r.attrs["eye_profile"])) == prof
        images = r.read()[0]
    assert images.tobytes() == render_eyes(10, seed=2, size=(36, 60), profile=prof)[0].tobytes()


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"ranges": {"brightnes": [0, 1]}}, "unknown or fixed parameter 'brightnes'"),
        ({"ranges": {"gaze_yaw": [0, 1]}}, "unknown or fixed parameter 'gaze_yaw'"),
        ({"ranges": {"blur": [0.3, 0.1]}}, "low <= high"),
        ({"colour": 1}, "unknown keys \\['colour'\\]"),
        ({"mirror_share": 2}, "mirror_share"),
        ({"jpeg_quality": 101}, "jpeg_quality"),
        ({"pitch_range": [-90, 0]}, "pitch_range"),
        ({"version": 7}, "version 7"),
    ],
)
def test_bad_profiles_are_refused_with_the_file_named(tmp_path, bad, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "simgan-eye-profile", "version": 1, **bad}))
    with pytest.raises(SimganError, match=message) as e:
        load_profile(path)
    assert str(path) in str(e.value)


def test_unreadable_profile_files(tmp_path):
    with pytest.raises(SimganError, match="no such eye profile"):
        load_profile(tmp_path / "missing.json")
    (tmp_path / "t.json").write_text('{"format": "simgan-eye-prof')
    with pytest.raises(SimganError, match="not a readable JSON"):
        load_profile(tmp_path / "t.json")
    with pytest.raises(SimganError, match="must be an EyeProfile"):
        render_eyes(2, profile={"mirror_share": 1})
    assert EyeProfile() == DEFAULT_PROFILE
