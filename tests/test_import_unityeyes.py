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
from simgan.data.importers.unityeyes import (
    MPIIGAZE_SPAN,
    eye_corners,
    import_unityeyes,
    mirror_flags,
    parse_vector,
)
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
    np.testing.assert_array_equal(da.labels["side"], [0, 0])  # caruncle on the left: left eye
    np.testing.assert_array_equal(db.labels["side"], [1, 1])


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
    import_unityeyes(pairs, a, frame="mpiigaze", mirror_share=0.5)
    args = ["--frame", "mpiigaze", "--mirror-share", "0.5", "--workers", "2", "--quiet"]
    assert main(["import", "unityeyes", str(pairs), "-o", str(b), *args]) == 0
    da, db = read_dataset(a), read_dataset(b)
    np.testing.assert_array_equal(da.images, db.images)
    for k in da.labels:
        np.testing.assert_array_equal(da.labels[k], db.labels[k])


# ---- the 'mpiigaze' framing -------------------------------------------------------------

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RENDERS = REAL / "synthetic" / "unityeyes_labeled_224"
COUNTS = (16, 7, 32)
# Eye corners and pupil centre read by eye off renders 0 and 1 (224x224 squashed frames):
# (inner corner, outer corner, pupil centre) in 224-pixel coordinates; the iris radius is
# about 10 px across. Both are left eyes (caruncle on the image's left), as UnityEyes draws.
ANNOTATED = {
    0: ((84.2, 121.7), (137.5, 119.0), (108.3, 117.5)),
    1: ((90.0, 125.8), (139.0, 121.7), (120.8, 126.7)),
}


def groups(lm: np.ndarray) -> dict[str, np.ndarray]:
    """A stored landmark row (55, 2) -> the three UnityEyes groups."""
    a, b = COUNTS[0], COUNTS[0] + COUNTS[1]
    return {"interior_margin_2d": lm[:a], "caruncle_2d": lm[a:b], "iris_2d": lm[b:]}


def eye_json(inner, outer, iris, iris_r: float, look_vec: str, h: int) -> dict:
    """UnityEyes-style JSON for an eye with these corners and iris (image rows, y down)."""
    inner, outer, iris = (np.asarray(p, float) for p in (inner, outer, iris))
    axis = (outer - inner) / np.linalg.norm(outer - inner)
    normal = np.array([-axis[1], axis[0]])
    half = np.linalg.norm(outer - inner) / 2
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    margin = (
        (inner + outer) / 2
        + np.outer(np.cos(t) * half, axis)
        + np.outer(np.sin(t) * half / 3, normal)
    )
    u = np.pi + np.linspace(0, 2 * np.pi, 7, endpoint=False)  # u = pi: the inner corner
    caruncle = inner + 3 * axis + 3 * (np.outer(np.cos(u), axis) + np.outer(np.sin(u), normal))
    v = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    iris_pts = iris + iris_r * np.stack([np.cos(v), np.sin(v)], 1)

    def fmt(pts: np.ndarray) -> list[str]:
        return [f"({x:.4f}, {h - y:.4f}, 9.5312)" for x, y in pts]

    return {
        "interior_margin_2d": fmt(margin),
        "caruncle_2d": fmt(caruncle),
        "iris_2d": fmt(iris_pts),
        "eye_details": {"look_vec": look_vec},
        "head_pose": "(351.9549, 10.4525, 3.0000)",
    }


def flat_enough(img: np.ndarray) -> bool:
    """Each of 16 grey-level bins holds 3-10% of the pixels (98.6% of the real p00 set do)."""
    share = np.histogram(img, bins=16, range=(0, 256))[0] / img.size
    return bool(share.min() >= 0.03 and share.max() <= 0.10)


def darkest(img: np.ndarray) -> np.ndarray:
    """(x, y) centre of the darkest blob (Gaussian sigma 2), continuous coordinates."""
    blur = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 2)
    y, x = np.unravel_index(np.argmin(blur), blur.shape)
    return np.array([x + 0.5, y + 0.5])


def corner_geometry(lm: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Corner midpoint, corner distance and (inner, outer) from a stored landmark row."""
    inner, outer = eye_corners(groups(lm))
    return (inner + outer) / 2, float(np.linalg.norm(outer - inner)), np.stack([inner, outer])


@pytest.fixture
def renders(tmp_path):
    """Real UnityEyes renders 0 and 1 (unsquashed to 640x480) with annotated landmarks."""
    if not (RENDERS / "sample_preds.json").exists():
        pytest.skip(f"{RENDERS} is absent (the shared reference data)")
    labels = json.loads((RENDERS / "sample_preds.json").read_text())
    folder = tmp_path / "renders"
    folder.mkdir()
    s = np.array([W / 224, H / 224])
    for i, (inner, outer, pupil) in ANNOTATED.items():
        img = cv2.resize(cv2.imread(str(RENDERS / f"{i}_raw.jpg")), (W, H), cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / f"{i}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        look = ", ".join(f"{v:.4f}" for v in labels[i]["label"]["look_vec"])
        d = eye_json(
            np.multiply(inner, s), np.multiply(outer, s), np.multiply(pupil, s), 28, f"({look})", H
        )
        (folder / f"{i}.json").write_text(json.dumps(d))
    return folder


def test_mpiigaze_frame_on_real_renders(renders, tmp_path):
    plain, flipped = tmp_path / "a.h5", tmp_path / "b.h5"
    common = {"size": (36, 60), "frame": "mpiigaze"}
    import_unityeyes(renders, plain, **common)
    import_unityeyes(renders, flipped, flip=True, **common)
    da, db = read_dataset(plain), read_dataset(flipped)
    assert da.attrs["frame"] == "mpiigaze" and da.attrs["equalized"] == "true"
    np.testing.assert_array_equal(da.labels["side"], [0, 0])  # UnityEyes draws left eyes
    np.testing.assert_array_equal(db.labels["side"], [1, 1])
    for d in (da, db):
        for img, lm, gaze in zip(
            d.images[..., 0], d.labels["landmarks"], d.labels["gaze"], strict=True
        ):
            mid, span, _ = corner_geometry(lm)
            np.testing.assert_allclose(mid, [30, 18], atol=1.0)  # corner midpoint at the centre
            assert abs(span - MPIIGAZE_SPAN * 60) < 1.0
            assert flat_enough(img)
            iris = groups(lm)["iris_2d"].mean(axis=0)
            assert np.linalg.norm(darkest(img) - iris) < 4  # the pupil is where the labels say
            # gaze right (x > 0) <-> iris right of the corner midpoint, in both sides
            assert np.sign(gaze[0]) == np.sign(iris[0] - mid[0])
    np.testing.assert_array_equal(db.images, da.images[:, :, ::-1])  # equalize commutes
    np.testing.assert_allclose(
        db.labels["landmarks"][..., 0], 60 - da.labels["landmarks"][..., 0], atol=1e-4
    )
    np.testing.assert_allclose(db.labels["gaze"], da.labels["gaze"] * [-1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(db.labels["head_pose"], da.labels["head_pose"] * [1, -1, -1])


def tilted_pair(folder: Path, n: int, degrees: float) -> None:
    """An eye whose corner line is tilted by `degrees` (rows down), iris and gaze 20 px / 30
    degrees toward the outer corner, along the corner line."""
    a = np.radians(degrees)
    axis = np.array([np.cos(a), np.sin(a)])
    centre = np.array([320.0, 240.0])
    inner, outer, iris = centre - 90 * axis, centre + 90 * axis, centre + 20 * axis
    img = np.full((H, W, 3), 170, np.uint8)
    img[::4] = 140  # some texture
    cv2.ellipse(img, tuple(int(v) for v in centre), (90, 30), degrees, 0, 360, (230, 230, 230), -1)
    cv2.circle(img, tuple(int(v) for v in iris), 25, (10, 10, 10), -1)
    cv2.imwrite(str(folder / f"{n}.jpg"), img)
    look = f"({0.5 * axis[0]:.6f}, {-0.5 * axis[1]:.6f}, -0.866025)"  # UnityEyes: y up
    (folder / f"{n}.json").write_text(json.dumps(eye_json(inner, outer, iris, 25, look, H)))


def test_level_turns_corner_line_and_gaze_together(tmp_path):
    folder = tmp_path / "tilted"
    folder.mkdir()
    tilted_pair(folder, 1, 12.0)
    tilted_pair(folder, 2, -8.0)
    out, kept = tmp_path / "level.h5", tmp_path / "kept.h5"
    common = {"size": (36, 60), "frame": "mpiigaze", "mirror_share": 0.5}
    import_unityeyes(folder, out, level=True, **common)
    import_unityeyes(folder, kept, **common)
    d, k = read_dataset(out), read_dataset(kept)
    np.testing.assert_array_equal(d.labels["side"], [0, 1])  # the second one mirrored
    assert d.attrs["levelled"] == "true" and d.attrs["mirror_share"] == 0.5
    for i in range(2):
        mid, span, corners = corner_geometry(d.labels["landmarks"][i])
        np.testing.assert_allclose(mid, [30, 18], atol=0.05)
        assert abs(span - 48) < 0.05 and abs(corners[0, 1] - corners[1, 1]) < 0.05  # level
        gaze = d.labels["gaze"][i]
        np.testing.assert_allclose(gaze, [0.5 * (-1) ** i, 0, -0.866025], atol=1e-4)
        iris = groups(d.labels["landmarks"][i])["iris_2d"].mean(axis=0)
        assert np.linalg.norm(darkest(d.images[i, :, :, 0]) - iris) < 2
    for lm, gaze in zip(
        k.labels["landmarks"], k.labels["gaze"], strict=True
    ):  # not levelled: still tilted
        mid, _, corners = corner_geometry(lm)
        assert abs(corners[0, 1] - corners[1, 1]) > 5
        offset = groups(lm)["iris_2d"].mean(axis=0) - mid
        cos = offset @ gaze[:2] / np.linalg.norm(offset) / np.linalg.norm(gaze[:2])
        assert cos > 0.999  # gaze and iris offset point the same way, tilted or levelled
    np.testing.assert_allclose(np.linalg.norm(k.labels["gaze"], axis=1), 1, atol=1e-5)


def test_mirror_flags_spread_the_share():
    assert mirror_flags(4, 0.5) == [False, True, False, True]
    assert sum(mirror_flags(1000, 0.3)) == 300 and mirror_flags(3, 0.0) == [False] * 3
    assert mirror_flags(3, 1.0) == [True] * 3


def test_frame_options_refused(pairs, tmp_path):
    out = tmp_path / "x.h5"
    for kwargs, message in (
        ({"frame": "tight"}, "frame 'tight'"),
        ({"frame": "mpiigaze", "corner_span": 1.4}, "corner span 1.4"),
        ({"mirror_share": -0.1}, "mirror share -0.1"),
    ):
        with pytest.raises(SimganError, match=message):
            import_unityeyes(pairs, out, **kwargs)
    assert not out.exists()


def test_cli_mpiigaze_frame(pairs, tmp_path):
    out = tmp_path / "cli.h5"
    args = ["import", "unityeyes", str(pairs), "-o", str(out), "--size", "36x60"]
    assert main([*args, "--frame", "mpiigaze", "--mirror-share", "0.5", "--quiet"]) == 0
    d = read_dataset(out)
    np.testing.assert_array_equal(d.labels["side"], [0, 1])
    assert d.attrs["equalized"] == "true" and d.attrs["corner_span"] == MPIIGAZE_SPAN
    for lm in d.labels["landmarks"]:
        mid, span, _ = corner_geometry(lm)
        np.testing.assert_allclose(mid, [30, 18], atol=0.05)
        assert abs(span - 48) < 0.05
    assert main([*args, "--frame", "mpiigaze", "--no-equalize", "--overwrite", "--quiet"]) == 0
    assert read_dataset(out).attrs["equalized"] == "false"
