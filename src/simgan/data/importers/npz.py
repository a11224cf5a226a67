"""A NumPy .npz (or .npy) of images: `images` (N, H, W[, C]) plus optional label arrays.

Arrays named like canonical labels (gaze, landmarks, head_pose, label, subject, side, day)
come along; `subject_id` is read as `subject`. Gaze arrays must already be in the MPIIGaze
normalized frame. Loaded with allow_pickle=False, so an .npz cannot run code.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Mapping

import numpy as np

from simgan.data.dataset import LABEL_KINDS
from simgan.data.importers._chunks import Chunk, write_chunks
from simgan.data.importers._crop import DEFAULT_SIZE, fit_box, fit_image, pixels_to_uint8
from simgan.data.importers._inputs import require_file
from simgan.data.importers._options import FitOptions
from simgan.data.importers._report import ImportReport
from simgan.errors import SimganError
from simgan.images import resize_images

ALIASES = {"subject_id": "subject"}
CHUNK_SIZE = 4096  # images converted at a time


def prepare_batch(
    images: np.ndarray, size: tuple[int, int], channels: int, fit_mode: str = "crop"
) -> np.ndarray:
    """uint8 (n, H, W[, C]) -> (n, h, w, channels), cropped or stretched to the aspect."""
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 3 and channels == 1:  # one box for the whole stack: fast path
        x0, y0, w, h = fit_box(images.shape[1:], size, fit_mode).astype(int)
        return resize_images(images[:, y0 : y0 + h, x0 : x0 + w, None], size)
    return np.stack([fit_image(im, size, channels, fit_mode)[0] for im in images])


def iter_npz(
    images: np.ndarray, labels: Mapping[str, np.ndarray], opts: FitOptions
) -> Iterator[Chunk]:
    """Chunks of the images, converted to uint8 and shaped, with their rows of the labels."""
    for s in range(0, len(images), CHUNK_SIZE):
        batch = pixels_to_uint8(images[s : s + CHUNK_SIZE])
        batch = prepare_batch(batch, opts.size, opts.channels, opts.fit_mode)
        yield batch, {k: v[s : s + CHUNK_SIZE] for k, v in labels.items()}


def _load(path) -> dict[str, np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise SimganError(
            f"{path}: not a readable .npz/.npy without pickled objects ({str(e)[:80]})"
        ) from None
    if isinstance(data, np.ndarray):
        return {"images": data}
    with data:
        return {k: data[k] for k in data.files}


def import_npz(
    path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    key: str = "images",
    size: tuple[int, int] = DEFAULT_SIZE,
    channels: int = 1,
    fit_mode: str = "crop",
    domain: str | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Import the image array `key` (and label arrays) of an .npz file into `out`."""
    opts = FitOptions.pick(locals())
    path = require_file(path, ".npz file with an 'images' array")
    arrays = _load(path)
    if key not in arrays:
        raise SimganError(f"{path}: no array '{key}' (found {sorted(arrays)}); pass --key NAME")
    images = arrays.pop(key)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3, 4)):
        raise SimganError(f"{path}: '{key}' has shape {images.shape}, expected (N, H, W[, C])")
    report = ImportReport(source="npz")
    labels, ignored = {}, []
    for name, arr in arrays.items():
        canon = ALIASES.get(name, name)
        if canon in LABEL_KINDS and arr.shape[:1] == images.shape[:1]:
            kind = LABEL_KINDS[canon]
            labels[canon] = arr.astype(kind.dtype) if arr.dtype.kind in "iub" else arr
        else:
            ignored.append(name)
    if ignored:
        report.notes.append(f"ignored arrays: {ignored}")
    attrs = {
        "source": "npz",
        "source_path": str(path.resolve()),
        "source_key": key,
        "fit": fit_mode,
    }
    if domain:
        attrs["domain"] = domain
    report.saw_size(images.shape[1:3], size, fit_mode, len(images))
    return write_chunks(out, iter_npz(images, labels, opts), report, attrs, overwrite)
