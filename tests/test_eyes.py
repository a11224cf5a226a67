"""The eye simulator: shapes, determinism, labels true to the picture, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from simgan.cli import main
from simgan.data import DatasetReader, landmark_names
from simgan.data.eyes import DEFAULT_PROFILE, LANDMARK_NAMES, render_eyes, write_synthetic_eyes
from simgan.data.gaze_conventions import vector_to_pitchyaw
from simgan.errors import SimganError

L = {name: i for i, name in enumerate(LANDMARK_NAMES)}
LEFT_EYES = replace(DEFAULT_PROFILE, mirror_share=0.0)
UPPER = ["corner_inner", *(f"lid_upper_{k}" for k in range(7)), "corner_outer"]
LOWER = ["corner_inner", *(f"lid_lower_{k}" for k in range(7)), "corner_outer"]


def dark_blob_center(image: np.ndarray) -> tuple[float, float]:
    """(x, y) centroid of the darkest blob: the darkest tenth of the pixels, the connected
    part nearest the minimum of the image blurred to iris scale (thin lashes blur away)."""
    img = image[..., 0].astype(np.float64)
    y0, x0 = np.unravel_index(np.argmin(ndimage.gaussian_filter(img, 2.5)), img.shape)
    mask = img <= np.percentile(img, 10)
    labels, _ = ndimage.label(mask)
    ys, xs = np.nonzero(mask)
    nearest = np.argmin((ys - y0) ** 2 + (xs - x0) ** 2)
    ys, xs = np.nonzero(labels == labels[ys[nearest], xs[nearest]])
    return float(xs.mean()), float(ys.mean())


def lid_y_at(landmarks: np.ndarray, names: list[str], x: float) -> float:
    pts = landmarks[[L[n] for n in names]]
    return float(np.interp(x, pts[:, 0], pts[:, 1]))


@pytest.mark.parametrize("size", [(35, 55), (36, 60), (64, 64)])
def test_shapes_and_dtypes(size):
    images, labels = render_eyes(12, seed=1, size=size)
    assert images.shape == (12, *size, 1) and images.dtype == np.uint8
    assert labels["gaze"].shape == (12, 3) and labels["gaze"].dtype == np.float32
    assert labels["head_pose"].shape == (12, 3) and labels["head_pose"].dtype == np.float32
    assert labels["landmarks"].shape == (12, len(LANDMARK_NAMES), 2)
    assert labels["landmarks"].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(labels["gaze"], axis=1), 1, atol=1e-5)
    assert images.std() > 20  # a picture, not a flat field
    # the pupil stays inside the picture
    h, w = size
    pupil = labels["landmarks"][:, L["pupil_center"]]
    assert (pupil >= 0).all() and (pupil[:, 0] < w).all() and (pupil[:, 1] < h).all()


def test_gaze_range_and_convention():
    _, labels = render_eyes(600, seed=2, pitch_range=(-35, 15), yaw_range=(-35, 35))
    pitch, yaw = np.degrees(vector_to_pitchyaw(labels["gaze"])).T
    assert -35.01 <= pitch.min() < -30 and 10 < pitch.max() <= 15.01
    assert -35.01 <= yaw.min() < -30 and 30 < yaw.max() <= 35.01
    _, default = render_eyes(600, seed=2)  # the default profile: MPIIGaze's ranges
    pitch, yaw = np.degrees(vector_to_pitchyaw(default["gaze"])).T
    (p0, p1), (y0, y1) = DEFAULT_PROFILE.pitch_range, DEFAULT_PROFILE.yaw_range
    assert p0 - 0.01 <= pitch.min() < p0 + 2 and p1 - 2 < pitch.max() <= p1 + 0.01
    assert y0 - 0.01 <= yaw.min() < y0 + 2 and y1 - 2 < yaw.max() <= y1 + 0.01
    assert (labels["gaze"][:, 2] < 0).all()  # looking toward the camera
    # the ranges are the left eye's; a right eye is its mirror image, yaw negated
    _, fixed = render_eyes(12, seed=2, pitch_range=(10, 10), yaw_range=(-20, -20))
    sign = np.where(fixed["side"] == 1, -1, 1)
    assert 0 < fixed["side"].sum() < 12
    np.testing.assert_allclose(
        np.degrees(vector_to_pitchyaw(fixed["gaze"])),
        np.stack([np.full(12, 10), -20 * sign], 1),
        atol=1e-4,
    )


def test_deterministic_and_independent_of_chunking():
    images, labels = render_eyes(150, seed=7)
    again, labels2 = render_eyes(150, seed=7)
    assert images.tobytes() == again.tobytes()
    parts = [render_eyes(n, seed=7, start=s) for s, n in [(0, 1), (1, 6), (7, 130), (137, 13)]]
    assert np.concatenate([p[0] for p in parts]).tobytes() == images.tobytes()
    for k in labels:
        assert np.concatenate([p[1][k] for p in parts]).tobytes() == labels[k].tobytes()
        assert labels2[k].tobytes() == labels[k].tobytes()
    other, _ = render_eyes(150, seed=8)
    assert (other != images).mean() > 0.5


def test_pupil_moves_with_yaw_and_pitch():
    """x is the image's right: a gaze with x > 0 (negative yaw) puts the pupil on the right;
    pitch > 0 looks up, so the pupil goes up (smaller y)."""
    n = 40
    one = {"profile": LEFT_EYES, "pitch_range": (0, 0)}
    right, lab_r = render_eyes(n, seed=3, yaw_range=(-30, -30), **one)
    left, lab_l = render_eyes(n, seed=3, yaw_range=(30, 30), **one)
    assert (lab_r["gaze"][:, 0] > 0).all()
    dx = [dark_blob_center(right[i])[0] - dark_blob_center(left[i])[0] for i in range(n)]
    assert np.mean(np.array(dx) > 1) >= 0.95 and np.median(dx) > 8
    shift = (
        lab_r["landmarks"][:, L["pupil_center"], 0] - lab_l["landmarks"][:, L["pupil_center"], 0]
    )
    assert (shift > 8).all()

    down, lab_d = render_eyes(n, seed=3, pitch_range=(-30, -30), yaw_range=(0, 0))
    up, lab_u = render_eyes(n, seed=3, pitch_range=(10, 10), yaw_range=(0, 0))  # both sides
    dy = [dark_blob_center(down[i])[1] - dark_blob_center(up[i])[1] for i in range(n)]
    assert np.mean(np.array(dy) > 1) >= 0.95 and np.median(dy) > 4
    shift = (
        lab_d["landmarks"][:, L["pupil_center"], 1] - lab_u["landmarks"][:, L["pupil_center"], 1]
    )
    assert (shift > 4).all()


def test_pupil_landmark_is_on_the_dark_blob():
    images, labels = render_eyes(200, seed=4, pitch_range=(-15, 10), yaw_range=(-25, 25))
    dist = []
    for img, lm in zip(images, labels["landmarks"], strict=True):
        x, y = lm[L["pupil_center"]]
        xi, yi = int(round(x)), int(round(y))
        patch = img[max(yi - 1, 0) : yi + 2, max(xi - 1, 0) : xi + 2, 0]
        assert patch.min() <= np.percentile(img, 10)  # the pupil is among the darkest pixels
        bx, by = dark_blob_center(img)
        dist.append(np.hypot(bx - x, by - y))
    assert np.median(dist) < 2.0 and np.percentile(dist, 90) < 4.0
    np.testing.assert_array_equal(
        labels["landmarks"][:, L["pupil_center"]], labels["landmarks"][:, L["iris_center"]]
    )


def test_eyelid_landmarks_bracket_the_pupil():
    _, labels = render_eyes(400, seed=5)
    inside = []
    assert 0.4 < labels["side"].mean() < 0.6  # both eye sides, as MPIIGaze holds them
    for lm, side in zip(labels["landmarks"], labels["side"], strict=True):
        x, y = lm[L["pupil_center"]]
        upper, lower = (UPPER, LOWER) if side == 0 else (UPPER[::-1], LOWER[::-1])
        inside.append(lid_y_at(lm, upper, x) < y < lid_y_at(lm, lower, x))
        inner, outer = lm[L["corner_inner"], 0], lm[L["corner_outer"], 0]
        assert (inner < x < outer) if side == 0 else (outer < x < inner)
        upper = lm[[L[f"lid_upper_{k}"] for k in range(7)]]
        lower = lm[[L[f"lid_lower_{k}"] for k in range(7)]]
        assert (upper[:, 1] < lower[:, 1]).all()  # the upper lid is above the lower one
    assert np.mean(inside) >= 0.98  # only extreme down-gaze may hide the pupil centre


def test_iris_landmarks_surround_the_pupil():
    _, labels = render_eyes(50, seed=6)
    lm = labels["landmarks"]
    ring = lm[:, [L[f"iris_{k}"] for k in range(8)]]
    np.testing.assert_allclose(ring.mean(1), lm[:, L["pupil_center"]], atol=1e-3)
    # a circle seen at an angle: widest across the gaze, narrowest along it
    radius = np.linalg.norm(ring - lm[:, None, L["pupil_center"]], axis=-1)
    assert (radius.max(1) > 7).all() and (radius.min(1) > 0.6 * radius.max(1)).all()


def test_bad_arguments():
    with pytest.raises(SimganError):
        render_eyes(2, size=(4, 55))
    with pytest.raises(SimganError):
        render_eyes(2, pitch_range=(10, -10))


def test_write_file_streams_the_same_pictures(tmp_path):
    a = write_synthetic_eyes(tmp_path / "a.h5", 37, seed=9, chunk=10, workers=2)
    b = write_synthetic_eyes(tmp_path / "b.h5", 37, seed=9, chunk=64, workers=1)
    images, labels = render_eyes(37, seed=9)
    for path in (a, b):
        with DatasetReader(path) as r:
            data = r.load()
        assert data.images.tobytes() == images.tobytes()
        for k, v in labels.items():
            assert data.labels[k].tobytes() == v.tobytes()
        assert data.attrs["domain"] == "synthetic"
        assert data.attrs["source"] == "simgan eye simulator"
        assert landmark_names(data.attrs) == list(LANDMARK_NAMES)
        assert json.loads(data.attrs["gaze_range_deg"]) == {"pitch": [-20, 0], "yaw": [-12, 12]}
        assert json.loads(data.attrs["eye_profile"]) == DEFAULT_PROFILE.to_dict()


def test_cli_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "synth.h5"
    assert main(["synth", "eyes", "--count", "20", "--out", str(out), "--seed", "3"]) == 0
    with DatasetReader(out) as r:
        assert len(r) == 20 and r.image_shape == (35, 55, 1)
        assert r.label_names == ["gaze", "head_pose", "landmarks", "side"]
        first = r.read(0, 20)[0]
    assert first.tobytes() == render_eyes(20, seed=3)[0].tobytes()
    before = out.read_bytes()
    assert main(["synth", "eyes", "--count", "5", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    args = ["synth", "eyes", "--count", "5", "--out", str(out), "--size", "36x60", "--overwrite"]
    assert main(args) == 0
    with DatasetReader(out) as r:
        assert len(r) == 5 and r.image_shape == (36, 60, 1)


@pytest.mark.parametrize("size", ["35by55", "0x55", "x"])
def test_cli_bad_size_exits_2(tmp_path, size):
    with pytest.raises(SystemExit) as e:
        main(["synth", "eyes", "--count", "5", "--out", str(tmp_path / "x.h5"), "--size", size])
    assert e.value.code == 2
    assert not (tmp_path / "x.h5").exists()


def test_cli_too_small_size_exits_2(tmp_path):
    out = tmp_path / "x.h5"
    assert main(["synth", "eyes", "--count", "5", "--out", str(out), "--size", "6x6"]) == 2
    assert not out.exists()


def test_cli_digits(tmp_path):
    out = tmp_path / "digits.h5"
    assert main(["synth", "digits", "--count", "12", "--out", str(out), "--seed", "1"]) == 0
    with DatasetReader(out) as r:
        assert len(r) == 12
    assert main(["synth", "digits", "--count", "12", "--out", str(out)]) == 2
