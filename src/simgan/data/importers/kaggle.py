"""The Kaggle "eye-gaze" HDF5 files: gaze.h5 (UnityEyes) and real_gaze.h5 (MPIIGaze).

Keys `image` (35x55 grayscale), and in gaze.h5 also `look_vec` (UnityEyes frame, y up)
and `path`. Two layouts exist: each key one stacked dataset (N, ...), or each key a GROUP
holding one small dataset per image under the same name; both are read, in chunks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from simgan.data.gaze_conventions import unityeyes_to_normalized
from simgan.data.importers._chunks import Chunk, Sample, chunked, write_chunks
from simgan.data.importers._crop import DEFAULT_SIZE, fit_image, pixels_to_uint8
from simgan.data.importers._inputs import natural_key, progress, require_file
from simgan.data.importers._options import ImportOptions
from simgan.data.importers._report import ImportReport
from simgan.errors import SimganError

GAZE_FRAMES = ("unityeyes", "normalized")
CHUNK_SIZE = 4096  # images per chunk, in either layout


def convert_look_vec(look_vec: np.ndarray, frame: str) -> np.ndarray:
    """(n, 3|4) look vectors -> (n, 3) unit gaze in the MPIIGaze normalized frame."""
    v = np.asarray(look_vec, dtype=np.float64)[..., :3]
    if frame == "unityeyes":
        return unityeyes_to_normalized(v)
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True, kw_only=True)
class KaggleOptions(ImportOptions):
    """How `import_kaggle` reads the gazes: `gaze_frame` is one of GAZE_FRAMES."""

    gaze_frame: str


def _prepare(image: np.ndarray, opts: KaggleOptions) -> np.ndarray:
    img = pixels_to_uint8(image)
    if img.ndim == 3 and img.shape[-1] not in (1, 3, 4):
        raise SimganError(f"image of shape {img.shape} is not (H, W[, C])")
    return fit_image(img, opts.size, opts.channels)[0]


def _usable(look: np.ndarray) -> np.ndarray:
    v = np.asarray(look, dtype=np.float64)[..., :3]
    return np.isfinite(v).all(axis=-1) & (np.linalg.norm(v, axis=-1) > 1e-6)


def _iter_stacked(
    f: h5py.File, path: Path, report: ImportReport, look: h5py.Dataset | None, opts: KaggleOptions
) -> Iterator[Chunk]:
    """Chunks of the stacked layout: `image` (N, ...) and `look_vec` (N, 3|4) datasets."""
    images = f["image"]
    n = images.shape[0]
    if look is not None and look.shape[0] != n:
        raise SimganError(f"{path}: 'look_vec' has {look.shape[0]} rows for {n} images")
    for s in range(0, n, CHUNK_SIZE):
        batch = images[s : s + CHUNK_SIZE]
        labels, ok = {}, np.ones(len(batch), bool)
        if look is not None:
            lv = look[s : s + CHUNK_SIZE]
            ok = _usable(lv)
            for i in np.flatnonzero(~ok):
                report.skip("look_vec is zero or not finite", f"{path}:image[{s + i}]")
            labels["gaze"] = convert_look_vec(lv[ok], opts.gaze_frame)
        report.saw_size(batch.shape[1:], opts.size, "crop", int(ok.sum()))
        yield np.stack([_prepare(im, opts) for im in batch[ok]]), labels


def _iter_groups(
    f: h5py.File, path: Path, report: ImportReport, look: h5py.Group | None, opts: KaggleOptions
) -> Iterator[Sample]:
    """(image, labels) per image of the group layout: one small dataset per image name."""
    names = sorted(f["image"].keys(), key=lambda k: natural_key(Path(k)))
    for name in progress(names, opts.show_progress, "Kaggle", len(names)):
        where = f"{path}:image/{name}"
        labels = {}
        try:
            image = f["image"][name][()]
            if look is not None:
                if name not in look:
                    report.skip("no look_vec of the same name", where)
                    continue
                lv = np.asarray(look[name][()])
                if lv.shape[-1] not in (3, 4) or not _usable(lv.reshape(-1)[:3]):
                    report.skip("look_vec is zero, not finite or not 3 numbers", where)
                    continue
                labels["gaze"] = convert_look_vec(lv.reshape(-1), opts.gaze_frame)
            sample = _prepare(image, opts), labels
        except (SimganError, OSError, ValueError, TypeError) as e:
            report.skip(f"unreadable image ({str(e)[:60]})", where)
            continue
        report.saw_size(np.shape(image), opts.size, "crop")
        yield sample


def import_kaggle(
    path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    channels: int = 1,
    gaze_frame: str = "unityeyes",
    domain: str | None = None,
    overwrite: bool = False,
    show_progress: bool = False,
) -> ImportReport:
    """Import gaze.h5 / real_gaze.h5 (either layout) into the dataset file `out`."""
    opts = KaggleOptions.pick(locals())
    path = require_file(path, "Kaggle eye-gaze HDF5 file (gaze.h5 or real_gaze.h5)")
    if gaze_frame not in GAZE_FRAMES:
        raise SimganError(f"gaze frame must be one of {GAZE_FRAMES}, got '{gaze_frame}'")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise SimganError(f"{path}: not a readable HDF5 file ({str(e)[:80]})") from None
    report = ImportReport(source="kaggle")
    with f:
        if "image" not in f:
            raise SimganError(
                f"{path}: no 'image' key (found {sorted(f.keys())}); expected the Kaggle "
                "eye-gaze gaze.h5 or real_gaze.h5"
            )
        look = f.get("look_vec")
        grouped = isinstance(f["image"], h5py.Group)
        if look is not None and isinstance(look, h5py.Group) != grouped:
            raise SimganError(f"{path}: 'image' and 'look_vec' use different layouts")
        if grouped:
            chunks = chunked(_iter_groups(f, path, report, look, opts), CHUNK_SIZE)
        else:
            chunks = _iter_stacked(f, path, report, look, opts)
        report.counts["layout"] = "group per image" if grouped else "stacked"
        attrs = {
            "domain": domain or ("synthetic" if look is not None else "real"),
            "source": "kaggle-eye-gaze",
            "source_path": str(path.resolve()),
        }
        if look is not None:
            attrs["look_vec_frame"] = gaze_frame
        return write_chunks(out, chunks, report, attrs, overwrite)
