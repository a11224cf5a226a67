"""NumPy .npz import, including the real MPIIGaze patches in ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest

from simgan.cli import main
from simgan.data import read_dataset
from simgan.data.importers.npz import import_npz
from simgan.errors import SimganError


def test_images_and_labels(tmp_path, rng):
    src, out = tmp_path / "x.npz", tmp_path / "x.h5"
    images = rng.integers(0, 256, (5, 36, 60), dtype=np.uint8)
    gaze = np.tile([[0.0, 0.0, -1.0]], (5, 1))
    np.savez(src, images=images, gaze=gaze, subject_id=np.arange(5, dtype=np.int16), other=1)
    report = import_npz(src, out, size=(36, 60))
    d = read_dataset(out)
    np.testing.assert_array_equal(d.images[..., 0], images)  # native size: untouched
    np.testing.assert_array_equal(d.labels["subject"], np.arange(5))
    np.testing.assert_allclose(d.labels["gaze"], gaze)
    assert "ignored arrays: ['other']" in report.summary()


def test_colour_float_and_errors(tmp_path, rng):
    src, out = tmp_path / "x.npz", tmp_path / "x.h5"
    np.savez(src, pics=rng.random((3, 70, 110, 3)).astype(np.float32))
    with pytest.raises(SimganError, match="no array 'images'.*pics"):
        import_npz(src, out)
    import_npz(src, out, key="pics", channels=3)
    assert read_dataset(out).images.shape == (3, 35, 55, 3)
    (tmp_path / "bad.npz").write_bytes(b"nope")
    assert main(["import", "npz", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "b.h5")]) == 2
    assert not (tmp_path / "b.h5").exists()


def test_shared_mpiigaze_patches(shared_data, tmp_path):
    src = shared_data / "real" / "mpiigaze_p00_36x60" / "test_images_36x60_uint8.npz"
    out = tmp_path / "real.h5"
    args = ["import", "npz", str(src), "-o", str(out), "--domain", "real", "--fit", "stretch"]
    assert main(args) == 0
    d = read_dataset(out)
    assert d.images.shape == (3000, 35, 55, 1) and d.attrs["domain"] == "real"
    assert (d.labels["subject"] == 0).all()
    assert abs(d.images.mean() - 129.1) < 0.5  # PROVENANCE: mean 129.1; squashing keeps it
