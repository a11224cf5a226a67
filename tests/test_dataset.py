"""The canonical dataset file: round trip, streaming, atomic writes and bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from simgan.cli import main
from simgan.data import DatasetReader, DatasetWriter, read_dataset, write_dataset
from simgan.data.gaze_conventions import pitchyaw_to_vector
from simgan.errors import SimganError


def _labels(rng, n):
    return {
        "gaze": pitchyaw_to_vector(rng.uniform(-0.5, 0.5, (n, 2))),
        "landmarks": rng.uniform(0, 50, (n, 5, 2)).astype(np.float32),
        "head_pose": rng.normal(size=(n, 3)).astype(np.float32),
        "label": rng.integers(0, 10, n),
        "subject": rng.integers(0, 15, n),
        "side": rng.integers(0, 2, n).astype(np.int8),
        "day": rng.integers(1, 30, n),
    }


def test_round_trip_every_label_kind(tmp_path, rng):
    images = rng.integers(0, 256, (37, 35, 55, 1), dtype=np.uint8)
    labels = _labels(rng, 37)
    path = write_dataset(tmp_path / "d.h5", images, labels, {"domain": "synthetic", "source": "t"})
    data = read_dataset(path)
    np.testing.assert_array_equal(data.images, images)
    assert set(data.labels) == set(labels)
    for k, v in labels.items():
        np.testing.assert_array_equal(data.labels[k], v.astype(data.labels[k].dtype))
    assert data.attrs["domain"] == "synthetic"
    assert data.attrs["format"] == "simgan-dataset"
    assert "gaze_convention" in data.attrs


def test_grayscale_three_dim_images_get_channel_axis(tmp_path, rng):
    images = rng.integers(0, 256, (4, 8, 8), dtype=np.uint8)
    data = read_dataset(write_dataset(tmp_path / "d.h5", images))
    assert data.images.shape == (4, 8, 8, 1)


def test_streaming_equals_in_memory(tmp_path, rng):
    path = tmp_path / "s.h5"
    chunks = [rng.integers(0, 256, (n, 12, 20, 3), dtype=np.uint8) for n in (50, 7, 100)]
    labs = [rng.integers(0, 10, len(c)) for c in chunks]
    with DatasetWriter(path) as w:
        for c, lab in zip(chunks, labs, strict=True):
            w.append(c, label=lab)
    whole = read_dataset(path)
    with DatasetReader(path) as r:
        assert len(r) == 157
        got = list(r.iter_chunks(chunk_size=33))
        assert [s for s, _, _ in got] == list(range(0, 157, 33))
        np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), whole.images)
        np.testing.assert_array_equal(
            np.concatenate([g[2]["label"] for g in got]), whole.labels["label"]
        )
        idx = np.array([150, 3, 3, 77])
        im, lab = r.read_indices(idx)
        np.testing.assert_array_equal(im, whole.images[idx])
        np.testing.assert_array_equal(lab["label"], whole.labels["label"][idx])
    np.testing.assert_array_equal(whole.images, np.concatenate(chunks))


def test_existing_output_refused_unless_overwrite(tmp_path, rng):
    images = rng.integers(0, 256, (3, 8, 8, 1), dtype=np.uint8)
    path = write_dataset(tmp_path / "d.h5", images)
    with pytest.raises(SimganError, match="already exists.*--overwrite"):
        write_dataset(path, images)
    write_dataset(path, images[:2], overwrite=True)
    assert len(read_dataset(path)) == 2


def test_failed_write_leaves_nothing(tmp_path, rng):
    path = tmp_path / "d.h5"
    with pytest.raises(RuntimeError), DatasetWriter(path) as w:
        w.append(rng.integers(0, 256, (3, 8, 8, 1), dtype=np.uint8))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((3, 8, 8, 1), np.float32), {}, "dtype float32, expected uint8"),
        (np.zeros((3, 8), np.uint8), {}, "expected \\(N, H, W, C\\)"),
        (np.zeros((3, 8, 8, 1), np.uint8), {"label": np.zeros(4, int)}, "4 rows but there are 3"),
        (np.zeros((3, 8, 8, 1), np.uint8), {"gaze": np.ones((3, 3), np.float32)}, "unit vectors"),
        (
            np.zeros((3, 8, 8, 1), np.uint8),
            {"gaze": np.ones((3, 2), np.float32)},
            "expected \\(N, 3\\)",
        ),
        (np.zeros((3, 8, 8, 1), np.uint8), {"colour": np.zeros(3)}, "unknown label 'colour'"),
        (np.zeros((3, 8, 8, 1), np.uint8), {"label": np.zeros(3, np.float32)}, "expected integers"),
    ],
)
def test_bad_arrays_rejected_and_nothing_written(tmp_path, images, labels, message):
    path = tmp_path / "bad.h5"
    with pytest.raises(SimganError, match=message):
        write_dataset(path, images, labels)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_bad_files_give_clear_errors(tmp_path, rng):
    with pytest.raises(SimganError, match="no such file"):
        DatasetReader(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(SimganError, match="not a readable HDF5 file"):
        DatasetReader(tmp_path / "text.h5")
    with h5py.File(tmp_path / "noimages.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(SimganError, match="no 'images'"):
        DatasetReader(tmp_path / "noimages.h5")
    with h5py.File(tmp_path / "mismatch.h5", "w") as f:
        f["images"] = np.zeros((3, 4, 4, 1), np.uint8)
        f["label"] = np.zeros(2, np.int64)
    with pytest.raises(SimganError, match="2 rows for 3"):
        DatasetReader(tmp_path / "mismatch.h5")
    with h5py.File(tmp_path / "float.h5", "w") as f:
        f["images"] = np.zeros((3, 4, 4, 1), np.float32)
    with pytest.raises(SimganError, match="expected uint8"):
        DatasetReader(tmp_path / "float.h5")


def test_truncated_file(tmp_path, rng):
    path = write_dataset(tmp_path / "d.h5", rng.integers(0, 256, (2000, 35, 55, 1), dtype=np.uint8))
    raw = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SimganError, match="cut.h5"):
        read_dataset(cut)


def test_cli_info_and_preview(tmp_path, rng, capsys):
    path = write_dataset(
        tmp_path / "d.h5", rng.integers(0, 256, (20, 35, 55, 1), dtype=np.uint8), _labels(rng, 20)
    )
    assert main(["data", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "20 x 35x55x1" in out and "label gaze" in out and "pitch" in out
    png = tmp_path / "grid.png"
    assert main(["data", "preview", str(path), "-o", str(png), "--count", "16", "--cols", "4"]) == 0
    from PIL import Image

    img = Image.open(png)
    assert img.width > 4 * 55 and img.height > 4 * 35
    assert main(["data", "preview", str(path), "-o", str(png)]) == 2  # exists, no --overwrite
    assert "already exists" in capsys.readouterr().err
    assert main(["data", "info", str(tmp_path / "nope.h5")]) == 2
