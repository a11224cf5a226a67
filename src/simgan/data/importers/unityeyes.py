"""UnityEyes (Wood et al., ETRA 2016): N.jpg + N.json pairs -> eye crops with labels.

The JSON stores vectors as strings such as "(0.12, -0.30, -0.94, 0.0)"; they are parsed
as numbers here, never evaluated. `look_vec` has y UP, so y is negated to reach the
MPIIGaze normalized frame. The 2-D landmarks measure y from the BOTTOM of the frame
(row = height - y). The crop is centred on the eye (interior margin + caruncle), about
`crop_scale` x the eye's width, at the target aspect; landmarks move into crop pixels.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from simgan.data.gaze_conventions import unityeyes_to_normalized
from simgan.data.importers._chunks import Sample, chunked, write_chunks
from simgan.data.importers._crop import (
    DEFAULT_SIZE,
    aspect_box,
    check_crop_scale,
    crop_resize,
    mirror,
)
from simgan.data.importers._inputs import natural_key, progress, require_dir
from simgan.data.importers._options import ImportOptions
from simgan.data.importers._report import ImportReport
from simgan.errors import SimganError

LANDMARK_GROUPS = ("interior_margin_2d", "caruncle_2d", "iris_2d")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER = re.compile(_NUM)
_POINT = rf"\(\s*{_NUM}(?:\s*,\s*{_NUM})+\s*\)"
_POINTS = re.compile(rf"{_POINT}(?:;{_POINT})*")  # a whole landmark list, joined with ';'
NOTHING_HINT = "each image needs a UnityEyes JSON of the same number"


class BadPair(Exception):
    """One unusable image/JSON pair (reason in the message)."""


def parse_vector(text: object, key: str, min_len: int = 3) -> np.ndarray:
    """'(x, y, z[, w])' -> float64 array, refusing anything but finite numbers."""
    if not isinstance(text, str):
        raise BadPair(f"'{key}' is not a string like '(x, y, z)'")
    parts = [p.strip() for p in text.strip().strip("()[]").split(",")]
    if len(parts) < min_len or not all(_NUMBER.fullmatch(p) for p in parts):
        raise BadPair(f"'{key}' is not a vector of numbers ({text[:40]!r})")
    v = np.array([float(p) for p in parts])
    if not np.isfinite(v).all():
        raise BadPair(f"'{key}' holds a value that is not finite")
    return v


def parse_sample(text: str) -> dict[str, np.ndarray]:
    """One UnityEyes JSON text -> look_vec (3,), head_pose (3,) degrees, landmark groups.

    Landmarks are (K, 2) (x, y) with y still measured from the bottom of the frame.
    """
    try:
        d = json.loads(text)
    except ValueError:
        raise BadPair("JSON cannot be parsed") from None
    if not isinstance(d, dict):
        raise BadPair("JSON is not an object")
    eye = d.get("eye_details")
    if not isinstance(eye, dict) or "look_vec" not in eye:
        raise BadPair("JSON lacks 'eye_details.look_vec'")
    out = {"look_vec": parse_vector(eye["look_vec"], "look_vec")[:3]}
    if np.linalg.norm(out["look_vec"]) < 1e-6:
        raise BadPair("'look_vec' is the zero vector")
    out["head_pose"] = parse_vector(d.get("head_pose"), "head_pose")[:3]
    for group in LANDMARK_GROUPS:
        pts = d.get(group)
        if not isinstance(pts, list) or not pts:
            raise BadPair(f"JSON lacks the landmark list '{group}'")
        out[group] = parse_points(pts, group)
    return out


def parse_points(points: list, key: str) -> np.ndarray:
    """['(x, y, z)', ...] -> (K, 2) float64 (x, y); one regex pass over the whole list."""
    text = ";".join(p.strip() if isinstance(p, str) else "?" for p in points)
    if not _POINTS.fullmatch(text) or text.count(",") % len(points):
        raise BadPair(f"'{key}' is not a list of '(x, y, z)' strings")
    xyz = np.array(_NUMBER.findall(text), dtype=np.float64).reshape(len(points), -1)
    if xyz.shape[1] < 2 or text.count(",") != len(points) * (xyz.shape[1] - 1):
        raise BadPair(f"'{key}' points have different lengths")
    return xyz[:, :2]


def eye_box(points: dict[str, np.ndarray], size: tuple[int, int], crop_scale: float) -> np.ndarray:
    """Crop box (x0, y0, w, h) around the eye, points in image (row-down) coordinates."""
    corners = np.concatenate([points["interior_margin_2d"], points["caruncle_2d"]])
    x_min, x_max = corners[:, 0].min(), corners[:, 0].max()
    width = x_max - x_min
    if width < 2:
        raise BadPair(f"eye too narrow to crop ({width:.1f} px)")
    cy = points["interior_margin_2d"][:, 1].mean()
    return aspect_box((x_min + x_max) / 2, cy, crop_scale * width, size)


def _decode(im: Image.Image, channels: int, box_width: float, out_width: int) -> np.ndarray:
    """Decode the frame, letting the JPEG decoder shrink it while it stays >= 2x the output."""
    r = 1
    while r < 8 and box_width / (2 * r) >= 2 * out_width:
        r *= 2
    mode = "L" if channels == 1 else "RGB"
    if r > 1 and im.format == "JPEG":
        im.draft(mode, (im.size[0] // r, im.size[1] // r))
    return np.asarray(im.convert(mode))


@dataclass(frozen=True, kw_only=True)
class UnityEyesOptions(ImportOptions):
    """How `import_unityeyes` crops each pair and which pairs and labels it keeps."""

    crop_scale: float
    flip: bool
    landmarks: bool
    limit: int | None
    workers: int


def load_pair(
    json_path: Path, image_path: Path, opts: UnityEyesOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """One pair -> crop (h, w, C), gaze (3,), head pose (3,) rad, landmarks (K, 2), counts."""
    size, flip = opts.size, opts.flip
    try:
        text = json_path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise BadPair(f"cannot read the JSON ({e.strerror})") from None
    s = parse_sample(text)
    try:
        with Image.open(image_path) as im:
            w_full, h_full = im.size
            pts = {g: np.stack([s[g][:, 0], h_full - s[g][:, 1]], axis=1) for g in LANDMARK_GROUPS}
            box = eye_box(pts, size, opts.crop_scale)
            frame = _decode(im, opts.channels, box[2], size[1])
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise BadPair(f"image cannot be decoded ({str(e)[:60]})") from None
    shrink = np.array([frame.shape[1] / w_full, frame.shape[0] / h_full])
    crop, origin, scale = crop_resize(frame, box * np.concatenate([shrink, shrink]), size)
    crop = crop if crop.ndim == 3 else crop[..., None]
    landmarks = np.concatenate([(pts[g] * shrink - origin) * scale for g in LANDMARK_GROUPS])
    gaze = unityeyes_to_normalized(s["look_vec"])
    if flip:
        crop = mirror(crop)
        landmarks[:, 0] = size[1] - landmarks[:, 0]
        gaze = gaze * np.array([-1, 1, 1], np.float32)
    pitch_yaw_roll = (s["head_pose"] + 180.0) % 360.0 - 180.0  # UnityEyes writes 0..360
    if flip:  # a mirror turns the head the other way: yaw and roll change sign
        pitch_yaw_roll = (s["head_pose"] * [1, -1, -1] + 180.0) % 360.0 - 180.0
    counts = tuple(len(s[g]) for g in LANDMARK_GROUPS)
    return crop, gaze, np.radians(pitch_yaw_roll), landmarks, counts


def find_pairs(folder: Path, report: ImportReport) -> list[tuple[Path, Path]]:
    """(json, image) pairs sorted by number; lone files are counted as skipped."""
    images = {}
    for p in folder.iterdir():
        if p.suffix.lower() in (".jpg", ".jpeg", ".png"):
            images[p.stem] = p
    pairs = []
    for j in sorted(folder.glob("*.json"), key=natural_key):
        img = images.pop(j.stem, None)
        if img is None:
            report.skip("JSON without an image", j)
        else:
            pairs.append((j, img))
    for img in sorted(images.values(), key=natural_key):
        report.skip("image without a JSON", img)
    return pairs


def _try_load(opts: UnityEyesOptions, pair: tuple[Path, Path]) -> tuple | str:
    """load_pair, with a bad pair's reason returned instead of raised (for worker pools)."""
    try:
        return load_pair(*pair, opts)
    except (BadPair, SimganError) as e:
        return str(e)


def _loaded(pairs: list, opts: UnityEyesOptions) -> Iterator[tuple | str]:
    """Results of _try_load in pair order, from `opts.workers` processes when more than one."""
    load = functools.partial(_try_load, opts)
    if opts.workers <= 1:
        yield from map(load, pairs)
        return
    with multiprocessing.get_context("spawn").Pool(opts.workers) as pool:
        yield from pool.imap(load, pairs, chunksize=32)


def iter_unityeyes(
    folder: Path, report: ImportReport, attrs: MutableMapping, opts: UnityEyesOptions
) -> Iterator[Sample]:
    """Yield (crop, labels) per usable pair; records the landmark names in `attrs`."""
    pairs = find_pairs(folder, report)[: opts.limit or None]
    first: tuple[int, ...] | None = None
    results = _loaded(pairs, opts)
    for (json_path, _), result in progress(
        zip(pairs, results, strict=True), opts.show_progress, "UnityEyes", len(pairs)
    ):
        if isinstance(result, tuple):
            crop, gaze, pose, lm, counts = result
            first = first or counts
            if first != counts:
                result = f"landmark counts differ from the first pair's ({counts} vs {first})"
        if isinstance(result, str):
            report.skip(result, json_path, opts.strict)
            continue
        labels = {"gaze": gaze, "head_pose": pose}
        if opts.landmarks:
            labels["landmarks"] = lm
            attrs.setdefault(
                "landmark_names",
                [
                    f"{g[:-3]}_{i}"
                    for g, k in zip(LANDMARK_GROUPS, counts, strict=True)
                    for i in range(k)
                ],
            )
        yield crop, labels


def import_unityeyes(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    channels: int = 1,
    crop_scale: float = 1.5,
    flip: bool = False,
    landmarks: bool = True,
    limit: int | None = None,
    overwrite: bool = False,
    strict: bool = False,
    show_progress: bool = False,
    workers: int = 1,
) -> ImportReport:
    """Import a folder of UnityEyes N.jpg + N.json pairs into the dataset file `out`.

    workers > 1 decodes and crops in that many processes (the order stays the same).
    """
    opts = UnityEyesOptions.pick(locals())
    folder = require_dir(folder, "UnityEyes N.jpg + N.json pairs")
    check_crop_scale(crop_scale)
    report = ImportReport(source="unityeyes")
    attrs = {
        "domain": "synthetic",
        "source": "unityeyes",
        "source_path": str(folder.resolve()),
        "head_pose_convention": "(pitch, yaw, roll) radians from UnityEyes head_pose",
        "crop_scale": crop_scale,
        "mirrored": "true" if flip else "false",
    }
    chunks = chunked(iter_unityeyes(folder, report, attrs, opts))
    return write_chunks(out, chunks, report, attrs, overwrite, nothing_hint=NOTHING_HINT)
