"""The public face of the eye simulator: render a slice of a seeded stream, or write a file."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from simgan.data.dataset import DatasetWriter
from simgan.data.eyes.counter_rng import image_keys
from simgan.data.eyes.params import (
    HEAD_POSE_CONVENTION,
    LANDMARK_CONVENTION,
    LANDMARK_NAMES,
)
from simgan.data.eyes.profile import DEFAULT_PROFILE, EyeProfile
from simgan.data.eyes.scene import make_scene
from simgan.data.eyes.shade import camera, shade
from simgan.errors import SimganError
from simgan.threads import worker_count

# Gaze range (degrees) in the MPIIGaze normalized frame: pitch > 0 looks up, yaw > 0 looks
# toward the image's left; the default profile's (see profile.py).
PITCH_RANGE_DEG = DEFAULT_PROFILE.pitch_range
YAW_RANGE_DEG = DEFAULT_PROFILE.yaw_range
DEFAULT_SIZE = (35, 55)
BATCH = 128  # images shaded at once: keeps the (n, H, W) float arrays in the CPU cache
SIMULATOR_VERSION = 2  # bump when the same seed would give different pictures


_malloc_tuned = False


def _keep_freed_memory() -> None:
    """Ask glibc to reuse freed heap memory instead of returning it to the system at once.

    Shading allocates many short-lived arrays of about a megabyte. By default glibc maps
    each afresh (or trims the heap after freeing it), so every array costs hundreds of page
    faults: measured, that makes rendering 2.5-3x slower. Raising the mmap and trim
    thresholds (the same as MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the
    environment) keeps at most 64 MB of freed memory for reuse. Done once per process;
    elsewhere than glibc this does nothing.
    """
    global _malloc_tuned
    if _malloc_tuned or not sys.platform.startswith("linux"):
        return
    _malloc_tuned = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 64 << 20)
    except (OSError, AttributeError):  # not glibc (musl, ...): keep the default
        pass


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise SimganError(f"eye size {size!r} is not (height, width), e.g. (35, 55)") from None
    if not (8 <= h <= 4096 and 8 <= w <= 4096):
        raise SimganError(f"eye size {h}x{w} must be between 8x8 and 4096x4096 pixels")
    return h, w


def _profile(
    profile: EyeProfile | None,
    pitch_range: tuple[float, float] | None,
    yaw_range: tuple[float, float] | None,
) -> EyeProfile:
    """The profile to draw from: `profile` (default: DEFAULT_PROFILE), its gaze ranges
    replaced by the ones given."""
    profile = DEFAULT_PROFILE if profile is None else profile
    if not isinstance(profile, EyeProfile):
        raise SimganError(f"profile must be an EyeProfile, got {type(profile).__name__}")
    changes = {}
    if pitch_range is not None:
        changes["pitch_range"] = tuple(pitch_range)
    if yaw_range is not None:
        changes["yaw_range"] = tuple(yaw_range)
    return replace(profile, **changes) if changes else profile


def mirror(
    images: np.ndarray, labels: dict[str, np.ndarray], which: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Draw the eyes flagged in `which` (count,) bool as the other side, in place.

    The picture is flipped left-right; the labels with it: gaze x negated (so yaw flips),
    landmark x -> W - 1 - x (the names keep their meaning: the inner corner is still the
    inner corner), head pose yaw and roll negated.
    """
    if not which.any():
        return images, labels
    w = images.shape[2]
    images[which] = images[which, :, ::-1]
    labels["gaze"][which, 0] *= -1
    labels["landmarks"][which, :, 0] = (w - 1) - labels["landmarks"][which, :, 0]
    labels["head_pose"][which, 1:] *= -1
    return images, labels


def render_eyes(
    count: int,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
    start: int = 0,
    *,
    profile: EyeProfile | None = None,
    pitch_range: tuple[float, float] | None = None,
    yaw_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render images start..start+count-1 of the stream `seed`.

    profile: what to draw (default DEFAULT_PROFILE, calibrated to MPIIGaze); pitch_range /
    yaw_range (degrees) replace its gaze ranges. Returns images uint8 (count, H, W, 1) and
    labels: gaze float32 (count, 3) unit vectors (MPIIGaze normalized frame), landmarks
    float32 (count, K, 2) pixel (x, y) named by LANDMARK_NAMES, head_pose float32 (count, 3)
    (pitch, yaw, roll) radians, side int8 (count,): 0 a left eye (inner corner on the
    image's left), 1 a right eye (the left one mirrored, labels with it). Image i is the
    same whichever slice it is rendered in.
    """
    h, w = _check_size(size)
    profile = _profile(profile, pitch_range, yaw_range)
    if count < 0 or start < 0:
        raise SimganError(f"count ({count}) and start ({start}) must not be negative")
    _keep_freed_memory()
    images = np.empty((count, h, w, 1), np.uint8)
    gaze = np.empty((count, 3), np.float32)
    head = np.empty((count, 3), np.float32)
    marks = np.empty((count, len(LANDMARK_NAMES), 2), np.float32)
    mirrored = np.empty(count, bool)
    for lo in range(0, count, BATCH):
        hi = min(count, lo + BATCH)
        keys = image_keys(seed, start + lo, hi - lo)
        scene = make_scene(keys, (h, w), profile)
        raw = shade(scene, keys, (h, w))
        part = {"gaze": scene.gaze, "landmarks": scene.landmarks, "head_pose": scene.head_pose}
        flip = scene.p["side"] < profile.mirror_share
        raw, part = mirror(raw[..., None], part, flip)
        images[lo:hi, ..., 0] = camera(raw[..., 0], profile)
        gaze[lo:hi] = part["gaze"]
        head[lo:hi] = part["head_pose"]
        marks[lo:hi] = part["landmarks"]
        mirrored[lo:hi] = flip
    labels = {"gaze": gaze, "landmarks": marks, "head_pose": head}
    labels["side"] = mirrored.astype(np.int8)
    return images, labels


def write_synthetic_eyes(
    path: str | os.PathLike,
    count: int,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
    overwrite: bool = False,
    chunk: int = 4096,
    *,
    profile: EyeProfile | None = None,
    pitch_range: tuple[float, float] | None = None,
    yaw_range: tuple[float, float] | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render `count` eyes into a dataset file, `chunk` images at a time (streamed, atomic).

    workers: threads rendering chunks ahead of the writer (default: the free cores, the CPUs
    available less the 1-minute load; simgan.threads.worker_count);
    numpy releases the GIL inside its loops, so they overlap. The file is the same for
    any chunk and workers. progress: optional callable(done, total) after each chunk.
    profile, pitch_range, yaw_range: as render_eyes; the profile is saved in the file's
    attributes ("eye_profile", JSON).
    """
    h, w = _check_size(size)
    profile = _profile(profile, pitch_range, yaw_range)
    if count <= 0:
        raise SimganError(f"count must be positive, got {count}")
    if chunk <= 0:
        raise SimganError(f"chunk must be positive, got {chunk}")
    workers = worker_count(workers)[0]
    attrs = {
        "domain": "synthetic",
        "source": "simgan eye simulator",
        "simulator_version": SIMULATOR_VERSION,
        "seed": int(seed),
        "size": f"{h}x{w}",
        "gaze_range_deg": json.dumps(
            {"pitch": list(profile.pitch_range), "yaw": list(profile.yaw_range)}
        ),
        "eye_profile": json.dumps(profile.to_dict()),
        "landmark_names": json.dumps(list(LANDMARK_NAMES)),
        "landmark_convention": LANDMARK_CONVENTION,
        "head_pose_convention": HEAD_POSE_CONVENTION,
        "side": f"label 'side': 0 left eye (inner corner on the image's left), 1 right eye "
        f"(mirrored); right-eye share {profile.mirror_share:g}",
    }

    def render(lo: int):
        n = min(chunk, count - lo)
        return render_eyes(n, seed, (h, w), lo, profile=profile)

    starts = range(0, count, chunk)
    with (
        DatasetWriter(path, attrs=attrs, overwrite=overwrite) as writer,
        ThreadPoolExecutor(workers) as pool,
    ):
        pending: deque[Future] = deque()
        for lo in starts:
            # keep at most workers + 1 chunks in memory, in order
            pending.append(pool.submit(render, lo))
            if len(pending) > workers:
                _write(writer, pending.popleft(), count, progress)
        while pending:
            _write(writer, pending.popleft(), count, progress)
    return Path(path)


def _write(writer: DatasetWriter, job: Future, total: int, progress) -> None:
    images, labels = job.result()
    writer.append(images, **labels)
    if progress is not None:
        progress(writer.count, total)
