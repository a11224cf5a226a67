"""MPIIGaze import: a small tree of real-format .mat files built here, checked value by value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from simgan.cli import main
from simgan.data import read_dataset
from simgan.data.gaze_conventions import pitchyaw_to_vector, vector_to_pitchyaw
from simgan.data.importers.mpiigaze import import_mpiigaze
from simgan.errors import SimganError

SIDES = ("left", "right")


def eye_image(n: int, value: int) -> np.ndarray:
    """(n, 36, 60) patches: left half bright, right half dark, so a mirror shows."""
    img = np.full((n, 36, 60), 40, np.uint8)
    img[:, :, :30] = value
    return img


def write_day(path: Path, pitchyaw: dict, pose: dict, names: list[str]) -> None:
    """A day file in the MPIIGaze Data/Normalized layout (MATLAB v5 struct)."""
    n = len(names)
    data = {
        side: {
            "image": eye_image(n, 200 if side == "left" else 150),
            "gaze": pitchyaw_to_vector(pitchyaw[side]).astype(np.float64),
            "pose": pose[side],
        }
        for side in SIDES
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"data": data, "filenames": np.array(names, dtype=object)})


def make_tree(root: Path, days: dict[str, dict[str, int]], seed: int = 0) -> dict:
    """MPIIGaze/Data/Normalized/pXX/dayYY.mat; returns the labels written, by file."""
    rng = np.random.default_rng(seed)
    truth = {}
    for person, per_day in days.items():
        for day, n in per_day.items():
            py = {s: rng.uniform(-0.4, 0.4, (n, 2)) for s in SIDES}
            pose = {s: rng.uniform(-0.3, 0.3, (n, 3)) for s in SIDES}
            names = [f"{i + 1:04d}.jpg" for i in range(n)]
            path = root / "MPIIGaze" / "Data" / "Normalized" / person / f"{day}.mat"
            write_day(path, py, pose, names)
            truth[(person, day)] = (py, pose)
    return truth


@pytest.fixture
def tree(tmp_path):
    days = {"p00": {"day01": 3, "day02": 1}, "p01": {"day01": 2}}
    truth = make_tree(tmp_path, days)
    lists = tmp_path / "MPIIGaze" / "Evaluation Subset" / "sample list for eye image"
    lists.mkdir(parents=True)
    (lists / "p00.txt").write_text(
        "day01/0002.jpg left\nday02/0001.jpg right\nday01/0003.jpg right\n"
    )
    (lists / "p01.txt").write_text("day01/0001.jpg left\n")
    return tmp_path, truth


def test_all_samples_values_and_mirroring(tree, tmp_path):
    root, truth = tree
    out = tmp_path / "real.h5"
    report = import_mpiigaze(root / "MPIIGaze", out)
    d = read_dataset(out)
    assert report.written == 2 * (3 + 1 + 2) == len(d)
    assert d.images.shape[1:] == (35, 55, 1)
    assert d.attrs["domain"] == "real" and d.attrs["right_eyes_mirrored"] == "true"
    # order: p00 day01 (left 3, right 3), p00 day02 (1 + 1), p01 day01 (2 + 2)
    np.testing.assert_array_equal(d.labels["subject"], [0] * 8 + [1] * 4)
    np.testing.assert_array_equal(d.labels["day"], [1] * 6 + [2] * 2 + [1] * 4)
    np.testing.assert_array_equal(d.labels["side"], [0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1])
    py = vector_to_pitchyaw(d.labels["gaze"])
    want_l, pose_l = truth[("p00", "day01")][0]["left"], truth[("p00", "day01")][1]["left"]
    want_r, pose_r = truth[("p00", "day01")][0]["right"], truth[("p00", "day01")][1]["right"]
    np.testing.assert_allclose(py[:3], want_l, atol=1e-5)
    np.testing.assert_allclose(py[3:6, 0], want_r[:, 0], atol=1e-5)  # pitch kept
    np.testing.assert_allclose(py[3:6, 1], -want_r[:, 1], atol=1e-5)  # yaw negated
    np.testing.assert_allclose(d.labels["head_pose"][:3], pose_l, atol=1e-6)
    np.testing.assert_allclose(d.labels["head_pose"][3:6], pose_r * [1, -1, -1], atol=1e-6)
    # left eyes bright on the left; mirrored right eyes bright on the right
    left, right = d.images[0, :, :10, 0].mean(), d.images[0, :, -10:, 0].mean()
    assert left > 190 and right < 50
    assert d.images[3, :, :10, 0].mean() < 50 and d.images[3, :, -10:, 0].mean() > 140
    # the single-sample day survived squeeze_me
    np.testing.assert_allclose(py[6], truth[("p00", "day02")][0]["left"][0], atol=1e-5)


def test_keep_right_and_native_size(tree, tmp_path):
    root, truth = tree
    out = tmp_path / "keep.h5"
    import_mpiigaze(root, out, mirror_right=False, size=(36, 60), participants=[0], sides=["right"])
    d = read_dataset(out)
    assert len(d) == 4 and d.images.shape[1:] == (36, 60, 1)
    assert (d.labels["side"] == 1).all()
    np.testing.assert_allclose(
        vector_to_pitchyaw(d.labels["gaze"][:3]), truth[("p00", "day01")][0]["right"], atol=1e-5
    )
    np.testing.assert_array_equal(d.images[0, :, :, 0], eye_image(1, 150)[0])  # untouched


def test_evaluation_subset(tree, tmp_path):
    root, truth = tree
    out = tmp_path / "eval.h5"
    report = import_mpiigaze(root, out, eval_subset=True)
    d = read_dataset(out)
    assert report.written == len(d) == 4
    np.testing.assert_array_equal(d.labels["subject"], [0, 0, 0, 1])
    np.testing.assert_array_equal(d.labels["day"], [1, 1, 2, 1])
    np.testing.assert_array_equal(d.labels["side"], [0, 1, 1, 0])
    py = vector_to_pitchyaw(d.labels["gaze"])
    np.testing.assert_allclose(py[0], truth[("p00", "day01")][0]["left"][1], atol=1e-5)
    r = truth[("p00", "day01")][0]["right"][2]
    np.testing.assert_allclose(py[1], [r[0], -r[1]], atol=1e-5)


def test_bad_files_are_skipped_and_counted(tree, tmp_path):
    root, _ = tree
    person = root / "MPIIGaze" / "Data" / "Normalized" / "p00"
    scipy.io.savemat(person / "day03.mat", {"other": np.zeros(3)})  # no `data`
    (person / "day04.mat").write_bytes(b"not a mat file at all")
    out = tmp_path / "skip.h5"
    report = import_mpiigaze(root, out)
    assert report.written == 12 and sum(report.skipped.values()) == 2
    text = report.summary()
    assert "day03.mat" in text and "'data'" in text and "day04.mat" in text
    with pytest.raises(SimganError, match="day03.mat"):
        import_mpiigaze(root, tmp_path / "strict.h5", strict=True)
    assert not (tmp_path / "strict.h5").exists()


def test_nothing_usable_leaves_no_file(tmp_path):
    person = tmp_path / "Data" / "Normalized" / "p00"
    person.mkdir(parents=True)
    scipy.io.savemat(person / "day01.mat", {"other": np.zeros(3)})
    out = tmp_path / "none.h5"
    with pytest.raises(SimganError, match="nothing usable.*day01.mat"):
        import_mpiigaze(tmp_path, out)
    assert not out.exists() and not list(tmp_path.glob(".none.h5*"))
    with pytest.raises(SimganError, match="no such folder"):
        import_mpiigaze(tmp_path / "missing", out)
    with pytest.raises(SimganError, match="no Data/Normalized"):
        import_mpiigaze(person, out)


def test_cli(tree, tmp_path, capsys):
    root, _ = tree
    out = tmp_path / "cli.h5"
    assert main(["import", "mpiigaze", str(root), "--out", str(out), "--eval-subset"]) == 0
    assert "wrote 4 images" in capsys.readouterr().out
    assert main(["import", "mpiigaze", str(root), "--out", str(out)]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(["import", "mpiigaze", str(tmp_path / "nope"), "--out", str(tmp_path / "x.h5")]) == 2
    )
