"""Collect real eyes from the user's own photos and videos into a dataset file.

Each photo (and every `every`-th video frame) goes through `EyeFinder`; every eye becomes a
grayscale crop centred on it, `crop_scale` x the eye's width, at the target aspect. Right
eyes are mirrored to look like left eyes (as MPIIGaze's protocol does) unless told not to.
Crops that are blurred (sharpness = variance of the Laplacian / variance of the crop,
contrast-independent; MPIIGaze patches score about 0.1, 1st percentile 0.03) or that
repeat an earlier crop (64-bit difference hash within `dup_bits` bits) are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from simgan.data.importers._chunks import Sample, chunked, write_chunks
from simgan.data.importers._crop import (
    DEFAULT_SIZE,
    IMAGE_SUFFIXES,
    aspect_box,
    check_crop_scale,
    crop_resize,
    mirror,
    read_image,
)
from simgan.data.importers._detect import EyeFinder
from simgan.data.importers._inputs import natural_key, progress
from simgan.data.importers._options import ImportOptions
from simgan.data.importers._report import ImportReport
from simgan.errors import SimganError
from simgan.images import to_channels

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
PHOTO_SUFFIXES = (*IMAGE_SUFFIXES, ".webp", ".tif", ".tiff")


def expand_inputs(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Files as given, folders replaced by the photos and videos inside them (recursive)."""
    if not inputs:
        raise SimganError("give at least one photo, video or folder")
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            inside = [
                p
                for p in item.rglob("*")
                if p.suffix.lower() in PHOTO_SUFFIXES + VIDEO_SUFFIXES and p.is_file()
            ]
            files += sorted(inside, key=lambda p: [natural_key(Path(s)) for s in p.parts])
        elif item.is_file():
            files.append(item)
        else:
            raise SimganError(f"{item}: no such file or folder")
    return files


def frames(
    path: Path, every: int, max_frames: int | None, report: ImportReport
) -> Iterator[tuple[str, np.ndarray]]:
    """(where, uint8 gray frame) for a photo, or every `every`-th frame of a video."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        try:
            img = read_image(path)
        except SimganError:
            report.skip("photo cannot be decoded", path)
            return
        report.counts["photos"] += 1
        yield str(path), to_channels(img, 1)[..., 0]
        return
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            report.skip("video cannot be opened (unknown format or corrupt)", path)
            return
        report.counts["videos"] += 1
        index = used = 0
        while max_frames is None or used < max_frames:
            if index % every == 0:
                ok, frame = cap.read()
                if not ok:
                    break
                used += 1
                report.counts["video_frames"] += 1
                yield f"{path}#frame{index}", cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            elif not cap.grab():  # skipped frames are not decoded
                break
            index += 1
    finally:
        cap.release()


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian over the variance of the crop (contrast-independent)."""
    x = crop.astype(np.float64)
    return float(cv2.Laplacian(x, cv2.CV_64F).var() / (x.var() + 1e-6))


def dhash(crop: np.ndarray) -> np.uint64:
    """64-bit difference hash: is each pixel brighter than its right neighbour (9x8 grid)."""
    small = cv2.resize(crop, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).reshape(-1)
    return np.uint64(int("".join("1" if b else "0" for b in bits), 2))


def _hamming(hashes: np.ndarray, h: np.uint64) -> np.ndarray:
    x = np.bitwise_xor(hashes, h).view(np.uint8).reshape(-1, 8)
    return np.unpackbits(x, axis=1).sum(axis=1)


@dataclass(frozen=True, kw_only=True)
class CollectOptions(ImportOptions):
    """How `collect_eyes` reads photos and videos and which eye crops it keeps."""

    every: int
    max_frames: int | None
    equalize: bool
    mirror_right: bool
    crop_scale: float
    min_sharpness: float
    dup_bits: int


def iter_collect(
    files: Sequence[Path], finder: EyeFinder, report: ImportReport, opts: CollectOptions
) -> Iterator[Sample]:
    """Yield (eye crop (h, w, 1), labels) for every usable, new eye in the files."""
    hashes = np.zeros(0, np.uint64)
    for path in progress(files, opts.show_progress, "collect", len(files)):
        for where, gray in frames(path, opts.every, opts.max_frames, report):
            faces, eyes = finder.find(gray)
            report.counts["faces"] += faces
            report.counts["eyes_found"] += len(eyes)
            if not eyes:
                report.skip("no eye found", where)
            for eye in eyes:
                box = aspect_box(eye.cx, eye.cy, opts.crop_scale * eye.width, opts.size)
                crop = crop_resize(gray, box, opts.size)[0]
                if sharpness(crop) < opts.min_sharpness:
                    report.skip(f"eye crop blurred (sharpness < {opts.min_sharpness})", where)
                    continue
                if opts.equalize:
                    crop = cv2.equalizeHist(crop)
                if eye.side == 1 and opts.mirror_right:
                    crop = mirror(crop)
                h, dup = dhash(crop), opts.dup_bits
                if dup >= 0 and len(hashes) and _hamming(hashes, h).min() <= dup:
                    report.skip("duplicate of an earlier crop", where)
                    continue
                hashes = np.append(hashes, h)
                labels = {} if finder.detect == "eyes" else {"side": np.int8(eye.side)}
                yield crop[..., None], labels


def collect_eyes(
    inputs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    every: int = 10,
    max_frames: int | None = None,
    detect: str = "face",
    backend: str = "auto",
    equalize: bool = False,
    mirror_right: bool = True,
    crop_scale: float = 1.5,
    min_sharpness: float = 0.02,
    dup_bits: int = 4,
    overwrite: bool = False,
    show_progress: bool = False,
) -> ImportReport:
    """Find eyes in photos/videos (files or folders) and write the crops to `out`."""
    opts = CollectOptions.pick(locals())
    if every < 1:
        raise SimganError(f"--every must be at least 1, got {every}")
    check_crop_scale(crop_scale)
    files = expand_inputs(inputs)
    finder = EyeFinder(detect, backend)
    report = ImportReport(source="collect")
    report.counts.update(
        detector=finder.backend, photos=0, videos=0, video_frames=0, faces=0, eyes_found=0
    )
    attrs = {
        "domain": "real",
        "source": "collect",
        "detector": f"{finder.backend} ({detect})",
        "equalized": "true" if equalize else "false",
        "right_eyes_mirrored": "true" if mirror_right and detect == "face" else "false",
    }
    chunks = chunked(iter_collect(files, finder, report, opts))
    hint = (
        "no usable eyes: use sharp, well-lit, frontal photos where faces are at least "
        "1/8 of the picture" + (", or --detect eyes for close-ups" if detect == "face" else "")
    )
    return write_chunks(out, chunks, report, attrs, overwrite, nothing_hint=hint)
