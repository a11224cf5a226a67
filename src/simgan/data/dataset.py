"""The canonical dataset file: one HDF5 file per dataset, read and written only here.

Layout (format "simgan-dataset", version 1):

    /images      uint8 (N, H, W, C), chunked along N
    /gaze        float32 (N, 3)   unit vectors, MPIIGaze normalized frame (x right, y down,
                                  z away from the camera; looking at the camera has z < 0)
    /landmarks   float32 (N, K, 2) pixel (x, y) in image coordinates; names in attrs
    /head_pose   float32 (N, 3)   Rodrigues rotation vector (MPIIGaze) or (pitch, yaw, roll)
                                  radians, as attrs["head_pose_convention"] says
    /label       int64 (N,)       class ids
    /subject     int64 (N,)       participant ids
    /side        int8 (N,)        0 = left eye, 1 = right eye (as captured)
    /day         int64 (N,)       recording day (MPIIGaze)
    attrs        format, format_version, domain, source, created_by, created_at, ... (str)

Every label array is optional and aligned with `images`. Writers are atomic (temporary file,
then rename) and stream (append chunk by chunk), so a 1.2 M image dataset never has to be
in memory; readers stream in chunks too, or load everything when it fits.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from simgan import __version__
from simgan.atomic import atomic_path
from simgan.errors import SimganError

FORMAT = "simgan-dataset"
FORMAT_VERSION = 1
GAZE_CONVENTION = (
    "MPIIGaze normalized camera frame: unit vector, x right, y down, z away from camera; "
    "pitch = asin(-y), yaw = atan2(-x, -z)"
)


@dataclass(frozen=True)
class LabelKind:
    dtype: np.dtype
    trailing: tuple[int | None, ...]  # shape after N; None = any size
    meaning: str


LABEL_KINDS: dict[str, LabelKind] = {
    "gaze": LabelKind(np.dtype(np.float32), (3,), "unit gaze vector, MPIIGaze normalized frame"),
    "landmarks": LabelKind(np.dtype(np.float32), (None, 2), "pixel (x, y) points"),
    "head_pose": LabelKind(np.dtype(np.float32), (3,), "head rotation"),
    "label": LabelKind(np.dtype(np.int64), (), "class id"),
    "subject": LabelKind(np.dtype(np.int64), (), "participant id"),
    "side": LabelKind(np.dtype(np.int8), (), "0 left eye, 1 right eye"),
    "day": LabelKind(np.dtype(np.int64), (), "recording day"),
}


@dataclass
class Dataset:
    """A dataset held in memory. images: uint8 (N, H, W, C)."""

    images: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _check_label(name: str, values: np.ndarray, n: int | None, where: str) -> np.ndarray:
    kind = LABEL_KINDS.get(name)
    if kind is None:
        raise SimganError(
            f"{where}: unknown label '{name}'; known labels are {', '.join(LABEL_KINDS)}"
        )
    values = np.asarray(values)
    if n is not None and values.shape[:1] != (n,):
        raise SimganError(
            f"{where}: label '{name}' has {values.shape[0] if values.ndim else 0} rows but "
            f"there are {n} images; every label array must have one row per image"
        )
    trailing = values.shape[1:]
    ok = len(trailing) == len(kind.trailing) and all(
        want is None or want == got for want, got in zip(kind.trailing, trailing, strict=True)
    )
    if not ok:
        want = "(N" + "".join(f", {'K' if t is None else t}" for t in kind.trailing) + ")"
        raise SimganError(f"{where}: label '{name}' has shape {values.shape}, expected {want}")
    if np.issubdtype(kind.dtype, np.integer) and not np.issubdtype(values.dtype, np.integer):
        if values.dtype == bool:
            values = values.astype(kind.dtype)
        else:
            raise SimganError(
                f"{where}: label '{name}' has dtype {values.dtype}, expected integers"
            )
    if np.issubdtype(kind.dtype, np.floating) and not (
        np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)
    ):
        raise SimganError(f"{where}: label '{name}' has dtype {values.dtype}, expected floats")
    values = values.astype(kind.dtype, copy=False)
    if np.issubdtype(kind.dtype, np.floating) and values.size and not np.isfinite(values).all():
        raise SimganError(f"{where}: label '{name}' contains NaN or infinite values")
    if name == "gaze" and values.size:
        norms = np.linalg.norm(values, axis=1)
        if np.abs(norms - 1).max() > 1e-3:
            raise SimganError(
                f"{where}: 'gaze' rows must be unit vectors (norms range "
                f"{norms.min():.3f}..{norms.max():.3f}); normalize them first"
            )
    return values


def _check_images(images: np.ndarray, where: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise SimganError(
            f"{where}: images have dtype {images.dtype}, expected uint8 in 0..255; "
            "convert (e.g. np.clip(x * 255, 0, 255).astype(np.uint8)) first"
        )
    if images.ndim == 3:  # (N, H, W) grayscale
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise SimganError(
            f"{where}: images have shape {images.shape}, expected (N, H, W, C) with C 1, 3 or 4"
        )
    return images


class DatasetWriter:
    """Stream images and labels into a new dataset file, atomically.

    with DatasetWriter("synth.h5", attrs={"domain": "synthetic"}) as w:
        for images, gaze in chunks:
            w.append(images, gaze=gaze)      # images uint8 (n, H, W, C)

    The file appears under its name only when the block ends without error.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        attrs: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        compression: str | None = "lzf",
    ) -> None:
        self.path = Path(path)
        self.attrs = dict(attrs or {})
        self.overwrite = overwrite
        self.compression = compression
        self.count = 0
        self._ctx = None
        self._file: h5py.File | None = None
        self._labels: list[str] | None = None

    def __enter__(self) -> DatasetWriter:
        self._ctx = atomic_path(self.path, self.overwrite)
        tmp = self._ctx.__enter__()
        self._file = h5py.File(tmp, "w")
        return self

    def append(self, images: np.ndarray, **labels: np.ndarray) -> None:
        """Append a chunk: images uint8 (n, H, W, C) or (n, H, W), labels with n rows."""
        assert self._file is not None, "use DatasetWriter as a context manager"
        where = str(self.path)
        images = _check_images(images, where)
        n = images.shape[0]
        labels = {k: _check_label(k, v, n, where) for k, v in labels.items()}
        f = self._file
        if self._labels is None:
            self._labels = sorted(labels)
            self._create("images", images)
            for k in self._labels:
                self._create(k, labels[k])
        else:
            if sorted(labels) != self._labels:
                raise SimganError(
                    f"{where}: every chunk must carry the same labels ({self._labels}), "
                    f"got {sorted(labels)}"
                )
            if images.shape[1:] != f["images"].shape[1:]:
                raise SimganError(
                    f"{where}: image shape {images.shape[1:]} differs from the first chunk's "
                    f"{f['images'].shape[1:]}"
                )
        end = self.count + n
        for k, v in [("images", images), *labels.items()]:
            ds = f[k]
            if v.shape[1:] != ds.shape[1:]:
                raise SimganError(
                    f"{where}: label '{k}' shape {v.shape[1:]} differs from the first "
                    f"chunk's {ds.shape[1:]}"
                )
            ds.resize(end, axis=0)
            ds[self.count : end] = v
        self.count = end

    def _create(self, name: str, first: np.ndarray) -> None:
        row_bytes = max(1, first[0].nbytes if len(first) else first.itemsize)
        rows = int(max(1, min(4096, (1 << 20) // row_bytes)))
        self._file.create_dataset(
            name,
            shape=(0, *first.shape[1:]),
            maxshape=(None, *first.shape[1:]),
            dtype=first.dtype,
            chunks=(rows, *first.shape[1:]),
            compression=self.compression,
        )

    def __exit__(self, exc_type, exc, tb) -> None:
        f, self._file = self._file, None
        try:
            if exc_type is None:
                if self._labels is None or self.count == 0:
                    raise SimganError(f"{self.path}: no images were written; nothing to save")
                attrs = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_by": f"simgan {__version__}",
                    "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    **self.attrs,
                }
                if "gaze" in self._labels:
                    attrs.setdefault("gaze_convention", GAZE_CONVENTION)
                for k, v in attrs.items():
                    f.attrs[k] = v if isinstance(v, (str, int, float)) else json.dumps(v)
        except BaseException as e:
            f.close()
            self._ctx.__exit__(type(e), e, e.__traceback__)
            raise
        f.close()
        self._ctx.__exit__(exc_type, exc, tb)


def write_dataset(
    path: str | os.PathLike,
    images: np.ndarray,
    labels: Mapping[str, np.ndarray] | None = None,
    attrs: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a whole dataset at once (atomic). images: uint8 (N, H, W, C) or (N, H, W)."""
    with DatasetWriter(path, attrs=attrs, overwrite=overwrite) as w:
        w.append(images, **dict(labels or {}))
    return Path(path)


class DatasetReader:
    """Read a dataset file, streaming or whole. Validates the file on open.

    with DatasetReader("synth.h5") as r:
        len(r), r.image_shape, r.label_names, r.attrs
        for start, images, labels in r.iter_chunks(4096): ...
        data = r.load()           # Dataset, everything in memory
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise SimganError(f"{self.path}: no such file; check the path")
        if self.path.is_dir():
            raise SimganError(f"{self.path}: is a folder, expected a simgan dataset file (.h5)")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as e:
            raise SimganError(
                f"{self.path}: not a readable HDF5 file (corrupt, truncated or another format: "
                f"{_short(e)}); re-create it with a simgan command such as "
                "'simgan synth eyes' or 'simgan import ...'"
            ) from None
        try:
            self._validate()
        except BaseException:
            self._file.close()
            raise

    def _validate(self) -> None:
        f, where = self._file, str(self.path)
        if "images" not in f or not isinstance(f["images"], h5py.Dataset):
            raise SimganError(
                f"{where}: has no 'images' array, so it is not a simgan dataset; "
                "convert it with 'simgan import ...'"
            )
        images = f["images"]
        if images.dtype != np.uint8 or images.ndim != 4:
            raise SimganError(
                f"{where}: 'images' is {images.dtype} {images.shape}, expected uint8 (N, H, W, C)"
            )
        n = images.shape[0]
        if n == 0:
            raise SimganError(f"{where}: the dataset is empty (0 images)")
        names = []
        for k, ds in f.items():
            if k == "images":
                continue
            kind = LABEL_KINDS.get(k)
            if kind is None or not isinstance(ds, h5py.Dataset):
                raise SimganError(
                    f"{where}: unknown entry '{k}'; known labels: {list(LABEL_KINDS)}"
                )
            if ds.shape[:1] != (n,):
                raise SimganError(
                    f"{where}: label '{k}' has {ds.shape[0] if ds.ndim else 0} rows for {n} "
                    "images; the file is inconsistent, re-create it"
                )
            if ds.dtype != kind.dtype:
                raise SimganError(
                    f"{where}: label '{k}' has dtype {ds.dtype}, expected {kind.dtype}"
                )
            names.append(k)
        self.label_names: list[str] = sorted(names)

    # -- metadata -------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._file["images"].shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C)."""
        return tuple(self._file["images"].shape[1:])  # type: ignore[return-value]

    @property
    def attrs(self) -> dict[str, Any]:
        out = {}
        for k, v in self._file.attrs.items():
            out[k] = v.decode() if isinstance(v, bytes) else (v.item() if hasattr(v, "item") else v)
        return out

    def label_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._file[name].shape)

    # -- data -----------------------------------------------------------------------------
    def read(
        self, start: int = 0, stop: int | None = None, labels: bool = True
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows [start, stop): images uint8 (n, H, W, C) and a dict of label arrays."""
        stop = len(self) if stop is None else min(stop, len(self))
        try:
            images = self._file["images"][start:stop]
            lab = {k: self._file[k][start:stop] for k in self.label_names} if labels else {}
        except (OSError, RuntimeError, ValueError) as e:
            raise SimganError(
                f"{self.path}: could not read rows {start}..{stop} ({_short(e)}); the file is "
                "probably truncated or corrupt, re-create it"
            ) from None
        return images, lab

    def read_indices(self, indices: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows at arbitrary indices (any order), for random batches from a large file."""
        indices = np.asarray(indices)
        order = np.argsort(indices)
        sorted_idx = indices[order]
        uniq, inverse = np.unique(sorted_idx, return_inverse=True)
        try:
            images = self._file["images"][uniq][inverse]
            lab = {k: self._file[k][uniq][inverse] for k in self.label_names}
        except (OSError, RuntimeError, ValueError) as e:
            raise SimganError(f"{self.path}: could not read rows ({_short(e)})") from None
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return images[back], {k: v[back] for k, v in lab.items()}

    def iter_chunks(
        self, chunk_size: int = 4096, start: int = 0, stop: int | None = None, labels: bool = True
    ) -> Iterator[tuple[int, np.ndarray, dict[str, np.ndarray]]]:
        """Yield (first_row, images, labels) for consecutive chunks of at most chunk_size rows."""
        stop = len(self) if stop is None else min(stop, len(self))
        for s in range(start, stop, chunk_size):
            images, lab = self.read(s, min(s + chunk_size, stop), labels=labels)
            yield s, images, lab

    def load(self) -> Dataset:
        """Everything in memory."""
        images, labels = self.read()
        return Dataset(images=images, labels=labels, attrs=self.attrs)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> DatasetReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_dataset(path: str | os.PathLike) -> Dataset:
    """Load a whole dataset file into memory."""
    with DatasetReader(path) as r:
        return r.load()


def landmark_names(attrs: Mapping[str, Any]) -> list[str]:
    """Names of the K landmark points, from the file's attrs (empty if not recorded)."""
    raw = attrs.get("landmark_names")
    if not raw:
        return []
    return list(json.loads(raw)) if isinstance(raw, str) else list(raw)


def _short(e: BaseException) -> str:
    return str(e).splitlines()[0][:160] if str(e) else type(e).__name__
