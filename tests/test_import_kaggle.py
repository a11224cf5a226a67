"""Kaggle eye-gaze HDF5 import: both layouts (stacked arrays, groups of per-image datasets)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from simgan.cli import main
from simgan.data import read_dataset
from simgan.data.gaze_conventions import vector_to_pitchyaw
from simgan.data.importers.kaggle import import_kaggle
from simgan.errors import SimganError

# UnityEyes look_vec (y up) and the (pitch, yaw) in degrees it must become
LOOK = np.array([[0.0, 0.5, -0.8660254, 0.0], [0.5, 0.0, -0.8660254, 0.0], [0, 0, -1, 0]])
PITCH_YAW = np.array([[30.0, 0.0], [0.0, -30.0], [0.0, 0.0]])


def images(n: int) -> np.ndarray:
    x = np.zeros((n, 35, 55), np.uint8)
    for i in range(n):
        x[i] = 10 * (i + 1)  # each image has its own grey level, to check the order
    return x


def stacked(path, with_look=True):
    with h5py.File(path, "w") as f:
        f["image"] = images(3)
        if with_look:
            f["look_vec"] = LOOK
            f["path"] = np.array([b"1.jpg", b"2.jpg", b"3.jpg"])


def grouped(path):
    with h5py.File(path, "w") as f:
        for i, name in enumerate(["img_1", "img_2", "img_10"]):  # numeric order, not text
            f.create_dataset(f"image/{name}", data=images(3)[i])
            f.create_dataset(f"look_vec/{name}", data=LOOK[i])
            f.create_dataset(f"path/{name}", data=f"{name}.jpg")


@pytest.mark.parametrize("layout", [stacked, grouped])
def test_layouts_give_the_same_data(layout, tmp_path):
    src, out = tmp_path / "gaze.h5", tmp_path / "out.h5"
    layout(src)
    report = import_kaggle(src, out)
    d = read_dataset(out)
    assert report.written == 3 and d.images.shape == (3, 35, 55, 1)
    np.testing.assert_array_equal(d.images[:, 0, 0, 0], [10, 20, 30])
    np.testing.assert_allclose(
        np.degrees(vector_to_pitchyaw(d.labels["gaze"])), PITCH_YAW, atol=1e-4
    )
    assert d.attrs["domain"] == "synthetic" and d.attrs["look_vec_frame"] == "unityeyes"


def test_real_gaze_without_labels_and_resize(tmp_path):
    src, out = tmp_path / "real_gaze.h5", tmp_path / "real.h5"
    stacked(src, with_look=False)
    import_kaggle(src, out, size=(36, 60))
    d = read_dataset(out)
    assert d.images.shape == (3, 36, 60, 1) and d.labels == {} and d.attrs["domain"] == "real"


def test_float_images_and_bad_rows(tmp_path):
    src, out = tmp_path / "gaze.h5", tmp_path / "out.h5"
    with h5py.File(src, "w") as f:
        f["image"] = images(3).astype(np.float32) / 255.0
        look = LOOK.copy()
        look[1] = 0.0  # unusable: skipped and counted
        f["look_vec"] = look
    report = import_kaggle(src, out)
    assert report.written == 2 and sum(report.skipped.values()) == 1
    np.testing.assert_array_equal(read_dataset(out).images[:, 0, 0, 0], [10, 30])


def test_bad_files(tmp_path):
    out = tmp_path / "out.h5"
    with pytest.raises(SimganError, match="no such file"):
        import_kaggle(tmp_path / "missing.h5", out)
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(SimganError, match="not a readable HDF5"):
        import_kaggle(tmp_path / "junk.h5", out)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["pixels"] = np.zeros((2, 4, 4), np.uint8)
    with pytest.raises(SimganError, match="no 'image' key.*pixels"):
        import_kaggle(tmp_path / "other.h5", out)
    assert not out.exists()


def test_cli(tmp_path, capsys):
    src, out = tmp_path / "gaze.h5", tmp_path / "out.h5"
    grouped(src)
    assert main(["import", "kaggle", str(src), "-o", str(out), "--gaze-frame", "normalized"]) == 0
    py = np.degrees(vector_to_pitchyaw(read_dataset(out).labels["gaze"]))
    np.testing.assert_allclose(py[0], [-30, 0], atol=1e-4)  # taken as is: y down = looking down
    assert "layout: group per image" in capsys.readouterr().out
