"""The digits domain: synthetic font digits, the real UCI digits, storage and CLI."""

from __future__ import annotations

import numpy as np
import pytest

from simgan.cli import main
from simgan.data import DatasetReader, read_dataset
from simgan.data.digits import (
    VALUE_SCALE,
    counts_from_uint8,
    counts_to_uint8,
    load_real_digits,
    render_digits,
    write_real_digits,
    write_synthetic_digits,
)
from simgan.errors import SimganError

STORED = np.round(np.arange(17) * 255 / 16).astype(np.uint8)  # the 17 allowed stored values


@pytest.fixture(scope="module")
def synthetic() -> tuple[np.ndarray, np.ndarray]:
    return render_digits(300, seed=3)


def test_storage_round_trip_is_exact():
    counts = np.arange(17)
    stored = counts_to_uint8(counts)
    assert stored[0] == 0 and stored[-1] == 255
    np.testing.assert_array_equal(stored, STORED)
    np.testing.assert_array_equal(counts_from_uint8(stored), counts)
    # any uint8 value (a refined image) maps to the nearest count
    np.testing.assert_array_equal(counts_from_uint8(np.array([7, 9, 250], np.uint8)), [0, 1, 16])
    with pytest.raises(SimganError, match="0..16"):
        counts_to_uint8(np.array([17]))


def test_synthetic_shape_values_and_balance(synthetic):
    images, labels = synthetic
    assert images.shape == (300, 8, 8, 1) and images.dtype == np.uint8
    assert labels.shape == (300,) and labels.dtype == np.int64
    assert np.isin(images, STORED).all()  # only multiples of a count
    counts = counts_from_uint8(images)
    assert counts.max() == 16 and counts.min() == 0
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [30] * 10)
    assert not np.array_equal(labels[:10], np.arange(10))  # shuffled, not i % 10
    ink = counts.reshape(300, -1).sum(1)
    assert (ink > 64).all()  # every image holds a visible digit, none is blank or clipped away


def test_synthetic_differs_by_class_and_within_class(synthetic):
    images, labels = synthetic
    means = np.stack([images[labels == k].mean(0) for k in range(10)]).reshape(10, -1)
    gaps = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(10, 1)]
    assert gaps.min() > 50  # each class has its own average shape
    ones = images[labels == 1].reshape(-1, 64)
    assert len(np.unique(ones, axis=0)) == len(ones)  # random font, slant, size: no duplicates


def test_synthetic_deterministic_per_seed():
    a, la = render_digits(40, seed=7)
    b, lb = render_digits(40, seed=7)
    c, _ = render_digits(40, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_synthetic_count_must_be_positive():
    with pytest.raises(SimganError, match="positive"):
        render_digits(0)


def test_real_digits():
    images, labels = load_real_digits()
    assert images.shape == (1797, 8, 8, 1) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and set(labels.tolist()) == set(range(10))
    assert np.isin(images, STORED).all()
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(counts_from_uint8(images)[..., 0], load_digits().images)


def test_files_round_trip(tmp_path):
    path = write_synthetic_digits(tmp_path / "syn.h5", count=25, seed=2)
    data = read_dataset(path)
    images, labels = render_digits(25, seed=2)  # the streamed file equals the in-memory call
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels["label"], labels)
    assert data.attrs["domain"] == "synthetic" and data.attrs["value_scale"] == VALUE_SCALE
    assert data.attrs["seed"] == 2 and "DejaVu" in data.attrs["source"]
    with pytest.raises(SimganError, match="already exists"):
        write_synthetic_digits(path, count=5)

    real = read_dataset(write_real_digits(tmp_path / "real.h5"))
    assert len(real) == 1797 and real.attrs["domain"] == "real"
    assert real.attrs["value_scale"] == VALUE_SCALE and "load_digits" in real.attrs["source"]
    np.testing.assert_array_equal(real.images, load_real_digits()[0])


def test_cli_digits_real(tmp_path, capsys):
    out = tmp_path / "real_digits.h5"
    assert main(["data", "digits-real", "--out", str(out)]) == 0
    assert "1797" in capsys.readouterr().out
    with DatasetReader(out) as r:
        assert len(r) == 1797 and r.image_shape == (8, 8, 1) and r.label_names == ["label"]
    before = out.stat().st_mtime_ns
    assert main(["data", "digits-real", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == before
    assert main(["data", "digits-real", "--out", str(out), "--overwrite"]) == 0
