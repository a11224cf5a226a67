"""UnityEyes import: N.jpg + N.json pairs with real-format JSON strings, checked by value."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from simgan.cli import main
from simgan.data import landmark_names, read_dataset
from simgan.data.gaze_conventions import vector_to_pitchyaw
from simgan.data.importers.unityeyes import import_unityeyes, parse_vector
from simgan.errors import SimganError

H, W = 480, 640


def ring(cx: float, cy: float, rx: float, ry: float, k: int) -> list[str]:
    """k points on an ellipse as UnityEyes writes them: '(x, y, z)', y from the BOTTOM."""
    t = np.linspace(0, 2 * np.pi, k, endpoint=False)
    return [f"({cx + rx * np.cos(a):.4f}, {H - (cy + ry * np.sin(a)):.4f}, 9.5312)" for a in t]


def write_pair(folder: Path, n: int, cx: float, row: float, half: float, look_vec: str) -> None:
    """A frame with a dark eye at (cx, row) (image rows) and its JSON; eye width 2 * half."""
    img = np.full((H, W, 3), 180, np.uint8)
    cv2.ellipse(img, (int(cx), int(row)), (int(half), int(half / 3)), 0, 0, 360, (20, 20, 20), -1)
    cv2.imwrite(str(folder / f"{n}.jpg"), img)
    sample = {
        "interior_margin_2d": ring(cx, row, half, half / 3, 16),
        "caruncle_2d": ring(cx - half * 0.9, row, 3, 2, 7),
        "iris_2d": ring(cx, row, half / 4, half / 4, 32),
        "eye_details": {
            "look_vec": look_vec,
            "pupil_size": "0.0486",
            "iris_size": "0.9142",
            "iris_texture": "eyeball_brown_1",
        },
        "lighting_details": {"skybox_exposure": "1.0823", "light_rotation": "(34.5, 235.0, 0.0)"},
        "eye_region_details": {"pca_shape_coeffs": ["0.1", "-0.2"]},
        "head_pose": "(351.9549, 10.4525, 0.0000)",
    }
    (folder / f"{n}.json").write_text(json.dumps(sample))


@pytest.fixture
def pairs(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    write_pair(folder, 1, 300, 180, 60, "(0.0000, 0.5000, -0.8660, 0.0000)")  # 30 deg up
    write_pair(folder, 2, 340, 300, 150, "(0.5000, 0.0000, -0.8660, 0.0000)")  # big eye
    return folder


def test_gaze_landmarks_and_crop(pairs, tmp_path):
    out = tmp_path / "synth.h5"
    report = import_unityeyes(pairs, out)
    d = read_dataset(out)
    assert report.written == len(d) == 2 and sum(report.skipped.values()) == 0
    assert d.images.shape == (2, 35, 55, 1) and d.attrs["domain"] == "synthetic"
    py = np.degrees(vector_to_pitchyaw(d.labels["gaze"]))
    np.testing.assert_allclose(py[0], [30, 0], atol=0.01)  # y up in UnityEyes -> pitch up
    np.testing.assert_allclose(py[1], [0, -30], atol=0.01)  # x right -> yaw = atan2(-x, -z)
    np.testing.assert_allclose(
        np.degrees(d.labels["head_pose"][0]), [-8.0451, 10.4525, 0], atol=1e-3
    )
    names = landmark_names(d.attrs)
    assert len(names) == d.labels["landmarks"].shape[1] == 16 + 7 + 32
    assert names[0] == "interior_margin_0" and names[-1] == "iris_31"
    for i in range(2):
        lm = d.labels["landmarks"][i]
        # the crop is 1.5 eye widths wide, centred on the eye: the interior margin's
        # rightmost point (index 0), half an eye width right of centre, lands 55 / 3 right
        np.testing.assert_allclose(lm[:16].mean(axis=0), [27.5, 17.5], atol=0.5)
        np.testing.assert_allclose(lm[0], [27.5 + 55 / 3, 17.5], atol=0.5)
        img = d.images[i, :, :, 0].astype(float)
        assert img[15:20, 25:30].mean() < 60 < 150 < img[:4].mean()  # dark eye at the centre


def test_flip_mirrors_image_landmarks_and_yaw(pairs, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    import_unityeyes(pairs, a)
    import_unityeyes(pairs, b, flip=True, size=(36, 60))
    da, db = read_dataset(a), read_dataset(b)
    assert db.images.shape[1:] == (36, 60, 1)
    np.testing.assert_allclose(db.labels["gaze"] * [-1, 1, 1], da.labels["gaze"], atol=1e-6)
    np.testing.assert_allclose(
        db.labels["head_pose"] * [1, -1, -1], da.labels["head_pose"], atol=1e-6
    )
    assert db.labels["landmarks"][1, 0, 0] < 30  # the rightmost point is now on the left


def test_bad_pairs_skipped_with_summary(pairs, tmp_path):
    (pairs / "3.json").write_text("{ this is not json")
    cv2.imwrite(str(pairs / "3.jpg"), np.zeros((8, 8), np.uint8))
    write_pair(pairs, 4, 300, 200, 50, "__import__('os').system('echo pwned')")
    write_pair(pairs, 5, 300, 200, 50, "(0.1, 0.2)")
    (pairs / "6.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (pairs / "6.json").write_text((pairs / "1.json").read_text())
    write_pair(pairs, 7, 300, 200, 50, "(0.1, 0.2, -0.9, 0.0)")
    (pairs / "7.json").write_text(json.dumps({"eye_details": {"look_vec": "(0, 0, -1)"}}))
    (pairs / "8.json").write_text((pairs / "1.json").read_text())  # no image
    cv2.imwrite(str(pairs / "9.jpg"), np.zeros((8, 8), np.uint8))  # no JSON
    out = tmp_path / "synth.h5"
    report = import_unityeyes(pairs, out)
    assert report.written == 2 and sum(report.skipped.values()) == 7
    text = report.summary()
    for reason in (
        "JSON cannot be parsed",
        "not a vector of numbers",
        "cannot be decoded",
        "head_pose",
        "JSON without an image",
        "image without a JSON",
    ):
        assert reason in text, reason
    with pytest.raises(SimganError, match="3.json"):
        import_unityeyes(pairs, tmp_path / "strict.h5", strict=True)


def test_nothing_usable_and_missing_folder(tmp_path):
    (tmp_path / "1.json").write_text("garbage")
    cv2.imwrite(str(tmp_path / "1.jpg"), np.zeros((8, 8), np.uint8))
    out = tmp_path / "x.h5"
    with pytest.raises(SimganError, match="nothing usable.*JSON cannot be parsed"):
        import_unityeyes(tmp_path, out)
    assert not out.exists()
    with pytest.raises(SimganError, match="no such folder"):
        import_unityeyes(tmp_path / "missing", out)


def test_parse_vector_refuses_code():
    np.testing.assert_allclose(parse_vector("(1.5, -2e-3, .25, 0.0)", "v"), [1.5, -0.002, 0.25, 0])
    for bad in ("(1, 2, nan)", "(1, 2, os.system)", "1; 2; 3", "(1, 2)", None):
        with pytest.raises(Exception, match="look_vec"):
            parse_vector(bad, "look_vec")


def test_cli_limit_and_json(pairs, tmp_path, capsys):
    out = tmp_path / "cli.h5"
    code = main(["import", "unityeyes", str(pairs), "-o", str(out), "--limit", "1", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["written"] == 1 and len(read_dataset(out)) == 1


def test_workers_give_identical_output(pairs, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    import_unityeyes(pairs, a)
    assert main(["import", "unityeyes", str(pairs), "-o", str(b), "--workers", "2"]) == 0
    da, db = read_dataset(a), read_dataset(b)
    np.testing.assert_array_equal(da.images, db.images)
    for k in da.labels:
        np.testing.assert_array_equal(da.labels[k], db.labels[k])
