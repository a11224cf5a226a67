"""UnityEyes (Wood et al., ETRA 2016): N.jpg + N.json pairs -> eye crops with labels.

The JSON stores vectors as strings such as "(0.12, -0.30, -0.94, 0.0)"; they are parsed
as numbers here, never evaluated. `look_vec` has y UP, so y is negated to reach the
MPIIGaze normalized frame. The 2-D landmarks measure y from the BOTTOM of the frame
(row = height - y).

Two framings. 'box' (default): centred on the eye's bounding box (interior margin +
caruncle), `crop_scale` x its width, at the target aspect. 'mpiigaze': framed like MPIIGaze's
normalized eye patches: centred on the midpoint of the two eye corners (inner = the caruncle
point farthest from the outer corner, outer = the interior-margin point farthest from the
caruncle), scaled so the corner-to-corner distance is `corner_span` of the output width,
optionally turned so the corner line is level (the gaze turns with it about the camera's z
axis), histogram-equalized as the last step. Either way landmarks move into crop pixels
(continuous coordinates: (0, 0) is the top-left corner of the top-left pixel), a share of
the samples can be mirrored (labels mirrored with them), and `side` says which eye the crop
shows (0 left, 1 right: the inner corner lies right of the outer one in a right eye).
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
    apply_affine,
    aspect_box,
    check_crop_scale,
    crop_resize,
    equalize_hist,
    mirror,
    similarity,
    warp_crop,
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
FRAMES = ("box", "mpiigaze")
# MPIIGaze normalizes to a virtual camera with a 960 px focal length at 600 mm: 1.6 px/mm, so
# the 60 px width spans 37.5 mm; an adult eye's corner-to-corner length of about 30 mm gives
# 48 px = 0.8 of the width (and 48-50 px is what the real patches show).
MPIIGAZE_SPAN = 0.8


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


def eye_corners(points: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(inner, outer) eye corner (x, y): the outer corner is the interior-margin point farthest
    from the caruncle's centre, the inner one the caruncle point farthest from the outer."""
    margin, caruncle = points["interior_margin_2d"], points["caruncle_2d"]
    outer = margin[np.argmax(np.linalg.norm(margin - caruncle.mean(axis=0), axis=1))]
    inner = caruncle[np.argmax(np.linalg.norm(caruncle - outer, axis=1))]
    return inner, outer


def corner_matrix(
    points: dict[str, np.ndarray], size: tuple[int, int], span: float, level: bool
) -> np.ndarray:
    """(2, 3) image -> crop matrix of the 'mpiigaze' framing (see the module docstring)."""
    inner, outer = eye_corners(points)
    left, right = sorted((inner, outer), key=lambda p: p[0])
    dx, dy = right - left
    distance = float(np.hypot(dx, dy))
    if distance < 2:
        raise BadPair(f"eye corners too close to crop ({distance:.1f} px)")
    angle = float(np.arctan2(dy, dx)) if level else 0.0
    return similarity((inner + outer) / 2, angle, span * size[1] / distance, size)


def box_matrix(box: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(2, 3) matrix of the axis-aligned crop that `crop_resize` makes of box (x0, y0, w, h)."""
    scale = np.array([size[1] / box[2], size[0] / box[3]])
    return np.array([[scale[0], 0, -box[0] * scale[0]], [0, scale[1], -box[1] * scale[1]]])


def inner_on_right(points: dict[str, np.ndarray]) -> bool:
    """Whether the inner corner lies right of the outer one (a right eye, as seen)."""
    inner, outer = eye_corners(points)
    return bool(inner[0] > outer[0])


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
    frame: str
    corner_span: float
    level: bool
    flip: bool
    mirror_share: float
    equalize: bool | None
    landmarks: bool
    limit: int | None
    workers: int

    @property
    def share(self) -> float:
        """The share of samples mirrored (`flip` mirrors them all)."""
        return 1.0 if self.flip else self.mirror_share

    @property
    def equalized(self) -> bool:
        """Whether crops are equalized: as asked, else only in the 'mpiigaze' framing."""
        return self.frame == "mpiigaze" if self.equalize is None else self.equalize


Loaded = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, tuple[int, ...]]


def mirror_flags(n: int, share: float) -> list[bool]:
    """Which of n samples to mirror: evenly spread, round(n * share) of them in all."""
    k = np.floor(np.arange(n + 1) * share + 1e-9)
    return [bool(d) for d in np.diff(k)]


def check_frame_options(frame: str, corner_span: float, mirror_share: float) -> None:
    """Refuse an unknown framing, a corner span outside 0.2..1 or a mirror share outside 0..1."""
    if frame not in FRAMES:
        raise SimganError(f"frame '{frame}' is not one of {', '.join(FRAMES)}; pick one of them")
    if not 0.2 <= corner_span <= 1.0:
        raise SimganError(
            f"corner span {corner_span} must be between 0.2 and 1 of the output width "
            f"(MPIIGaze's is {MPIIGAZE_SPAN})"
        )
    if not 0.0 <= mirror_share <= 1.0:
        raise SimganError(f"mirror share {mirror_share} must be between 0 and 1 (0.5: half)")


def crop_matrix(points: dict[str, np.ndarray], opts: UnityEyesOptions) -> np.ndarray:
    """(2, 3) image -> crop matrix of the chosen framing."""
    if opts.frame == "mpiigaze":
        return corner_matrix(points, opts.size, opts.corner_span, opts.level)
    return box_matrix(eye_box(points, opts.size, opts.crop_scale), opts.size)


def turn_gaze(gaze: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Gaze turned about the camera's z axis as the crop `matrix` turns the image."""
    angle = np.arctan2(matrix[0, 1], matrix[0, 0])
    c, s = np.cos(angle), np.sin(angle)
    out = np.array(gaze, dtype=np.float64)
    out[:2] = np.array([[c, s], [-s, c]]) @ out[:2]
    return out.astype(np.float32)


def load_pair(json_path: Path, image_path: Path, flip: bool, opts: UnityEyesOptions) -> Loaded:
    """One pair -> crop (h, w, C), gaze (3,), head pose (3,) rad, landmarks (K, 2), side,
    landmark counts; `flip` mirrors the crop and its labels."""
    size = opts.size
    try:
        text = json_path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise BadPair(f"cannot read the JSON ({e.strerror})") from None
    s = parse_sample(text)
    try:
        with Image.open(image_path) as im:
            w_full, h_full = im.size
            pts = {g: np.stack([s[g][:, 0], h_full - s[g][:, 1]], axis=1) for g in LANDMARK_GROUPS}
            matrix = crop_matrix(pts, opts)
            covered = size[1] / np.linalg.svd(matrix[:, :2], compute_uv=False).min()
            frame = _decode(im, opts.channels, covered, size[1])
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise BadPair(f"image cannot be decoded ({str(e)[:60]})") from None
    shrink = np.array([frame.shape[1] / w_full, frame.shape[0] / h_full])
    crop, matrix = cut(frame, matrix, shrink, opts)
    in_crop = {g: apply_affine(matrix, pts[g]) for g in LANDMARK_GROUPS}
    landmarks = np.concatenate([in_crop[g] for g in LANDMARK_GROUPS])
    gaze = turn_gaze(unityeyes_to_normalized(s["look_vec"]), matrix)
    pose = s["head_pose"].copy()  # as rendered: not turned by `level`
    side = int(inner_on_right(in_crop))
    if flip:
        crop = mirror(crop)
        landmarks[:, 0] = size[1] - landmarks[:, 0]
        gaze = gaze * np.array([-1, 1, 1], np.float32)
        pose = pose * [1, -1, -1]  # a mirror turns the head the other way: yaw and roll
        side = 1 - side
    if opts.equalized:
        crop = equalize_hist(crop)
    pitch_yaw_roll = (pose + 180.0) % 360.0 - 180.0  # UnityEyes writes 0..360
    counts = tuple(len(s[g]) for g in LANDMARK_GROUPS)
    return crop, gaze, np.radians(pitch_yaw_roll), landmarks, side, counts


def cut(
    frame: np.ndarray, matrix: np.ndarray, shrink: np.ndarray, opts: UnityEyesOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The crop (h, w, C) that `matrix` (full-frame -> crop points) asks for, cut out of the
    decoded frame (`shrink` x the full frame's size), and the matrix the crop really has."""
    if opts.frame == "box":  # axis-aligned: whole source pixels, area-resized
        x0, y0 = -matrix[:, 2] / np.diag(matrix)
        w, h = opts.size[1] / matrix[0, 0], opts.size[0] / matrix[1, 1]
        box = np.array([x0, y0, w, h]) * np.concatenate([shrink, shrink])
        crop, origin, scale = crop_resize(frame, box, opts.size)
        matrix = np.array(
            [
                [shrink[0] * scale[0], 0, -origin[0] * scale[0]],
                [0, shrink[1] * scale[1], -origin[1] * scale[1]],
            ]
        )
    else:
        crop = warp_crop(frame, matrix / np.concatenate([shrink, [1.0]]), opts.size)
    return (crop if crop.ndim == 3 else crop[..., None]), matrix


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


def _try_load(opts: UnityEyesOptions, item: tuple[Path, Path, bool]) -> Loaded | str:
    """load_pair, with a bad pair's reason returned instead of raised (for worker pools)."""
    try:
        return load_pair(*item, opts)
    except (BadPair, SimganError) as e:
        return str(e)


def _loaded(pairs: list, opts: UnityEyesOptions) -> Iterator[Loaded | str]:
    """Results of _try_load in pair order, from `opts.workers` processes when more than one."""
    load = functools.partial(_try_load, opts)
    items = [
        (j, i, f) for (j, i), f in zip(pairs, mirror_flags(len(pairs), opts.share), strict=True)
    ]
    if opts.workers <= 1:
        yield from map(load, items)
        return
    with multiprocessing.get_context("spawn").Pool(opts.workers) as pool:
        yield from pool.imap(load, items, chunksize=32)


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
            crop, gaze, pose, lm, side, counts = result
            first = first or counts
            if first != counts:
                result = f"landmark counts differ from the first pair's ({counts} vs {first})"
        if isinstance(result, str):
            report.skip(result, json_path, opts.strict)
            continue
        labels = {"gaze": gaze, "head_pose": pose, "side": np.int8(side)}
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
    frame: str = "box",
    corner_span: float = MPIIGAZE_SPAN,
    level: bool = False,
    flip: bool = False,
    mirror_share: float = 0.0,
    equalize: bool | None = None,
    landmarks: bool = True,
    limit: int | None = None,
    overwrite: bool = False,
    strict: bool = False,
    show_progress: bool = False,
    workers: int = 1,
) -> ImportReport:
    """Import a folder of UnityEyes N.jpg + N.json pairs into the dataset file `out`.

    frame: 'box' (`crop_scale` eye widths around the eye) or 'mpiigaze' (corner midpoint
    centred, corners `corner_span` of the width apart, `level` turns the corner line
    horizontal); mirror_share: the share of samples mirrored, evenly spread (`flip`: all);
    equalize: cv2.equalizeHist last (None: on for 'mpiigaze' only). workers > 1 decodes and
    crops in that many processes (the order stays the same).
    """
    opts = UnityEyesOptions.pick(locals())
    folder = require_dir(folder, "UnityEyes N.jpg + N.json pairs")
    check_crop_scale(crop_scale)
    check_frame_options(frame, corner_span, mirror_share)
    report = ImportReport(source="unityeyes")
    attrs = {
        "domain": "synthetic",
        "source": "unityeyes",
        "source_path": str(folder.resolve()),
        "head_pose_convention": "(pitch, yaw, roll) radians from UnityEyes head_pose",
        "frame": frame,
        "crop_scale": crop_scale,
        "mirrored": {0.0: "false", 1.0: "true"}.get(opts.share, "some"),
        "mirror_share": opts.share,
        "equalized": "true" if opts.equalized else "false",
    }
    if frame == "mpiigaze":
        attrs.update(corner_span=corner_span, levelled="true" if level else "false")
    if frame == "mpiigaze" and level:
        attrs["head_pose_convention"] += ", as rendered (not turned with the levelled crop)"
    chunks = chunked(iter_unityeyes(folder, report, attrs, opts))
    return write_chunks(out, chunks, report, attrs, overwrite, nothing_hint=NOTHING_HINT)
