"""Import summaries say when images were resized from another size (issue 12, item 5)."""

from __future__ import annotations

import cv2
import numpy as np

from simgan.data.importers.folder import import_folder
from simgan.data.importers.mpiigaze import import_mpiigaze
from simgan.data.importers.npz import import_npz
from test_import_mpiigaze import make_tree


def _patches(n: int, size: tuple[int, int]) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, *size), dtype=np.uint8)


def test_folder_summary_names_the_crop(tmp_path):
    folder = tmp_path / "eyes"
    folder.mkdir()
    for i, img in enumerate(_patches(3, (36, 60))):
        cv2.imwrite(str(folder / f"{i}.png"), img)
    crop = import_folder(folder, tmp_path / "crop.h5", size=(35, 55))
    assert "resized from 36x60 to 35x55 (crop)" in crop.summary()
    stretch = import_folder(folder, tmp_path / "stretch.h5", size=(35, 55), fit_mode="stretch")
    assert "resized from 36x60 to 35x55 (stretch)" in stretch.summary()
    assert stretch.as_dict()["resized"] == [{"from": "36x60", "fit": "stretch", "images": 3}]
    same = import_folder(folder, tmp_path / "same.h5", size=(36, 60))
    assert "resized" not in same.summary() and same.as_dict()["resized"] == []
    cv2.imwrite(str(folder / "big.png"), _patches(1, (72, 120))[0])
    mixed = import_folder(folder, tmp_path / "mixed.h5", size=(36, 60))
    assert "resized from 72x120 to 36x60 (scaled)" in mixed.summary()
    cv2.imwrite(str(folder / "square.png"), _patches(1, (50, 50))[0])
    mixed = import_folder(folder, tmp_path / "mixed2.h5", size=(35, 55))
    line = next(s for s in mixed.summary().splitlines() if "resized" in s)
    assert line.strip().startswith("resized to 35x55 from 36x60 (crop, 3 images)"), line
    assert "50x50 (crop, 1 image)" in line and "72x120" in line


def test_npz_and_mpiigaze_summaries(tmp_path):
    np.savez(tmp_path / "eyes.npz", images=_patches(4, (36, 60)))
    report = import_npz(tmp_path / "eyes.npz", tmp_path / "npz.h5")
    assert "resized from 36x60 to 35x55 (crop)" in report.summary()
    make_tree(tmp_path, {"p00": {"day01": 2}})
    report = import_mpiigaze(tmp_path, tmp_path / "mpii.h5")
    assert "resized from 36x60 to 35x55 (stretch)" in report.summary()
