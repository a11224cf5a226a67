"""SynthesEyes (Wood et al., ICCV 2015): PNG renders with a .pkl of labels per image.

Each .pkl (a Python 2 pickle, read with a restricted Unpickler) holds `look_vec` (the gaze
in camera space), `head_pose` (3x3 rotation, world to camera) and `ldmks` with
`ldmks_lids_2d`, `ldmks_iris_2d`, `ldmks_pupil_2d` (pixels, y down). The renderer's camera
space is taken to be the graphics convention (x right, y up, z toward the viewer), so
gaze (x, y, z) -> (x, -y, -z); `gaze_frame` selects another reading, and a warning is
added when most converted gazes point away from the camera (z > 0).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from simgan.data.importers._chunks import Chunk, Sample, chunked, write_chunks
from simgan.data.importers._crop import DEFAULT_SIZE, fit_image, read_image
from simgan.data.importers._inputs import natural_key, progress, require_dir
from simgan.data.importers._options import ImportOptions
from simgan.data.importers._report import ImportReport
from simgan.data.importers._safepickle import safe_load
from simgan.errors import SimganError

LANDMARK_KEYS = ("ldmks_lids_2d", "ldmks_iris_2d", "ldmks_pupil_2d")
# axis flips from each reading of look_vec to the MPIIGaze normalized frame
FRAMES = {
    "opengl": np.array([1.0, -1.0, -1.0]),  # x right, y up, z toward the viewer
    "unityeyes": np.array([1.0, -1.0, 1.0]),  # y up only
    "normalized": np.array([1.0, 1.0, 1.0]),
}
NOTHING_HINT = "each PNG needs a SynthesEyes .pkl of the same name"


class BadSample(Exception):
    """An unusable PNG/.pkl pair (reason in the message)."""


def read_labels(pkl: Path, frame: str) -> dict[str, np.ndarray]:
    """One .pkl -> gaze (3,) unit vector, head_pose (3,) Rodrigues if present, landmarks."""
    try:
        d = safe_load(pkl)
    except SimganError as e:
        raise BadSample(str(e).split(": ", 1)[-1]) from None
    if not isinstance(d, dict) or "look_vec" not in d:
        raise BadSample("holds no 'look_vec'")
    flip = FRAMES[frame]
    try:
        v = np.asarray(d["look_vec"], dtype=np.float64).reshape(-1)[:3]
    except (TypeError, ValueError):
        raise BadSample("'look_vec' is not numeric") from None
    if v.shape != (3,) or not np.isfinite(v).all() or np.linalg.norm(v) < 1e-6:
        raise BadSample("'look_vec' is not a finite non-zero 3-vector")
    out = {"gaze": (v * flip / np.linalg.norm(v)).astype(np.float32)}
    if "head_pose" in d:
        r = np.asarray(d["head_pose"], dtype=np.float64)
        if r.shape == (3, 3) and np.isfinite(r).all():
            s = np.diag(flip)
            rvec, _ = cv2.Rodrigues(s @ r @ s)  # the same rotation seen in our axes
            out["head_pose"] = rvec.reshape(3)
        elif r.size == 3 and np.isfinite(r).all():
            out["head_pose"] = r.reshape(3)
    ldmks = d.get("ldmks")
    if isinstance(ldmks, dict) and all(k in ldmks for k in LANDMARK_KEYS):
        try:
            pts = [np.asarray(ldmks[k], dtype=np.float64).reshape(-1, 2) for k in LANDMARK_KEYS]
        except (TypeError, ValueError):
            raise BadSample("landmarks are not (K, 2) numbers") from None
        out["landmarks"] = np.concatenate(pts)
        out["landmark_counts"] = np.array([len(p) for p in pts])
    return out


@dataclass(frozen=True, kw_only=True)
class SynthesEyesOptions(ImportOptions):
    """How `import_syntheseyes` reads the gazes: `gaze_frame` is one of FRAMES."""

    gaze_frame: str


def iter_syntheseyes(
    folder: Path, report: ImportReport, attrs: MutableMapping, opts: SynthesEyesOptions
) -> Iterator[Sample]:
    """Yield (image, labels) per usable pair; the first fixes which labels the rest need."""
    pngs = sorted(folder.rglob("*.png"), key=lambda p: (str(p.parent), natural_key(p)))
    keys: tuple[str, ...] | None = None
    counts: list[int] | None = None
    for png in progress(pngs, opts.show_progress, "SynthesEyes", len(pngs)):
        pkl = png.with_suffix(".pkl")
        try:
            if not pkl.is_file():
                raise BadSample("PNG without a .pkl of labels")
            lab = read_labels(pkl, opts.gaze_frame)
            c = lab.pop("landmark_counts", None)
            keys = keys or tuple(sorted(lab))
            counts = counts if counts is not None else (None if c is None else c.tolist())
            if tuple(sorted(lab)) != keys or (c is not None and c.tolist() != counts):
                raise BadSample(f"labels differ from the first pair's ({sorted(lab)} vs {keys})")
            source = read_image(png)
            image, origin, scale = fit_image(source, opts.size, opts.channels)
        except (BadSample, SimganError) as e:
            report.skip(str(e).replace(f"{png}: ", ""), png, opts.strict)
            continue
        report.saw_size(source.shape, opts.size, "crop")
        if "landmarks" in lab:
            lab["landmarks"] = (lab["landmarks"] - origin) * scale
        yield image, lab
    if counts:
        attrs["landmark_names"] = [
            f"{k[6:-3]}_{i}" for k, n in zip(LANDMARK_KEYS, counts, strict=True) for i in range(n)
        ]


def import_syntheseyes(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    channels: int = 1,
    gaze_frame: str = "opengl",
    overwrite: bool = False,
    strict: bool = False,
    show_progress: bool = False,
) -> ImportReport:
    """Import a folder (searched recursively) of SynthesEyes PNG + .pkl pairs into `out`."""
    opts = SynthesEyesOptions.pick(locals())
    folder = require_dir(folder, "SynthesEyes PNG + .pkl pairs")
    if gaze_frame not in FRAMES:
        raise SimganError(f"gaze frame must be one of {list(FRAMES)}, got '{gaze_frame}'")
    report = ImportReport(source="syntheseyes")
    attrs = {
        "domain": "synthetic",
        "source": "syntheseyes",
        "source_path": str(folder.resolve()),
        "look_vec_frame": gaze_frame,
        "head_pose_convention": "Rodrigues rotation vector, axes flipped like the gaze",
    }
    chunks = _watch_gaze(chunked(iter_syntheseyes(folder, report, attrs, opts)), report)
    return write_chunks(out, chunks, report, attrs, overwrite, nothing_hint=NOTHING_HINT)


def _watch_gaze(chunks: Iterator[Chunk], report: ImportReport) -> Iterator[Chunk]:
    away = total = 0
    for images, labels in chunks:
        away += int((labels["gaze"][:, 2] > 0).sum())
        total += len(images)
        yield images, labels
    if total and away > total / 2:
        report.notes.append(
            f"{away} of {total} gazes point away from the camera (z > 0): check --gaze-frame"
        )
