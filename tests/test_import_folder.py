"""Image-folder import: any size, gray or colour, optional labels.csv; shared UnityEyes data."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from simgan.cli import main
from simgan.data import read_dataset
from simgan.data.gaze_conventions import vector_to_pitchyaw
from simgan.data.importers.folder import import_folder
from simgan.errors import SimganError


@pytest.fixture
def folder(tmp_path):
    f = tmp_path / "eyes"
    f.mkdir()
    gray = np.full((70, 110), 50, np.uint8)
    gray[:, :55] = 200
    cv2.imwrite(str(f / "a.png"), gray)
    colour = np.zeros((100, 100, 3), np.uint8)
    colour[..., 2] = 255  # pure red (OpenCV writes BGR)
    cv2.imwrite(str(f / "b.jpg"), colour)
    cv2.imwrite(str(f / "c10.bmp"), np.full((35, 55), 7, np.uint8))
    cv2.imwrite(str(f / "c9.bmp"), np.full((35, 55), 9, np.uint8))
    (f / "broken.png").write_bytes(b"\x89PNG but not really")
    (f / "notes.txt").write_text("not an image")
    return f


def write_csv(path, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerows(rows)


def test_any_size_gray_or_colour(folder, tmp_path):
    out = tmp_path / "f.h5"
    report = import_folder(folder, out)
    d = read_dataset(out)
    assert (
        report.written == 4
        and sum(report.skipped.values()) == 1
        and "broken.png" in report.summary()
    )
    assert d.images.shape == (4, 35, 55, 1) and d.labels == {}
    # order a, b, c9, c10 (numbers compare as numbers)
    assert d.images[2, 0, 0, 0] == 9 and d.images[3, 0, 0, 0] == 7
    assert d.images[0, 5, 2, 0] == 200 and d.images[0, 5, -2, 0] == 50
    assert abs(int(d.images[1, 10, 10, 0]) - 76) <= 3  # red -> gray 0.299 * 255
    out3 = tmp_path / "f3.h5"
    import_folder(folder, out3, channels=3, fit_mode="stretch", size=(20, 30))
    d3 = read_dataset(out3)
    assert d3.images.shape == (4, 20, 30, 3)
    assert d3.images[1, 10, 10, 0] > 240 and d3.images[1, 10, 10, 2] < 15  # RGB order


def test_labels_csv(folder, tmp_path):
    write_csv(
        folder / "labels.csv",
        [
            ["filename", "label", "pitch", "yaw", "side", "comment"],
            ["a.png", "open", "0.1", "-0.2", "left", "x"],
            ["b.jpg", "closed", "0.0", "0.3", "1", ""],
            ["c9.bmp", "open", "abc", "0", "0", ""],  # bad value: skipped
            ["ghost.png", "open", "0", "0", "0", ""],  # no such image
        ],
    )
    out = tmp_path / "f.h5"
    report = import_folder(folder, out)
    d = read_dataset(out)
    assert report.written == 2
    assert report.skipped["listed in labels.csv but no such image"] == 1
    assert report.skipped["no row in labels.csv"] == 2  # c10.bmp, broken.png
    assert "ignored columns of labels.csv: ['comment']" in report.summary()
    np.testing.assert_array_equal(d.labels["label"], [1, 0])
    assert json.loads(d.attrs["label_names"]) == ["closed", "open"]
    np.testing.assert_array_equal(d.labels["side"], [0, 1])
    np.testing.assert_allclose(
        vector_to_pitchyaw(d.labels["gaze"]), [[0.1, -0.2], [0, 0.3]], atol=1e-6
    )


def test_labels_csv_errors(folder, tmp_path):
    out = tmp_path / "f.h5"
    write_csv(tmp_path / "l.csv", [["what", "label"], ["a.png", "1"]])
    with pytest.raises(SimganError, match="no file-name column"):
        import_folder(folder, out, labels=tmp_path / "l.csv")
    write_csv(tmp_path / "l.csv", [["file", "gaze_x", "gaze_y"], ["a.png", "1", "0"]])
    with pytest.raises(SimganError, match="gaze_z"):
        import_folder(folder, out, labels=tmp_path / "l.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SimganError, match="no png/jpg/bmp"):
        import_folder(tmp_path / "empty", out)
    assert main(["import", "folder", str(tmp_path / "nope"), "-o", str(out)]) == 2
    assert not out.exists()


def test_shared_unityeyes_crops(shared_data, tmp_path):
    src = shared_data / "synthetic" / "unityeyes_crops_84x140"
    out = tmp_path / "crops.h5"
    assert main(["import", "folder", str(src), "-o", str(out), "--domain", "synthetic"]) == 0
    d = read_dataset(out)
    assert d.images.shape == (96, 35, 55, 1) and d.attrs["domain"] == "synthetic"
    assert 70 < d.images.mean() < 120  # PROVENANCE: mean about 95


def test_shared_labelled_unityeyes_frames(shared_data, tmp_path):
    """look_vec (UnityEyes, y up) from sample_preds.json must survive the conversion."""
    src = shared_data / "synthetic" / "unityeyes_labeled_224"
    preds = json.loads((src / "sample_preds.json").read_text())
    look = np.array([p["label"]["look_vec"] for p in preds])
    rows = [["file", "look_x", "look_y", "look_z"]]
    rows += [[f"{i}_raw.jpg", *map(str, v)] for i, v in enumerate(look)]
    write_csv(tmp_path / "labels.csv", rows)
    out = tmp_path / "frames.h5"
    report = import_folder(src, out, labels=tmp_path / "labels.csv")
    d = read_dataset(out)
    assert report.written == 10 and d.images.shape == (10, 35, 55, 1)
    n = np.linalg.norm(look, axis=1)
    want = np.stack([np.arcsin(look[:, 1] / n), np.arctan2(-look[:, 0], -look[:, 2])], axis=1)
    np.testing.assert_allclose(vector_to_pitchyaw(d.labels["gaze"]), want, atol=1e-5)
    assert (d.labels["gaze"][:, 2] < 0).all()  # all look toward the camera


def test_shared_syntheseyes_renders(shared_data, tmp_path):
    """RGBA PNGs without their .pkl: the folder importer reads them, syntheseyes says why not."""
    from simgan.data.importers.syntheseyes import import_syntheseyes

    src = shared_data / "synthetic" / "syntheseyes_80x120"
    out = tmp_path / "se.h5"
    import_folder(src, out, channels=3)
    assert read_dataset(out).images.shape == (52, 35, 55, 3)
    with pytest.raises(SimganError, match="52.*PNG without a .pkl"):
        import_syntheseyes(src, tmp_path / "none.h5")
