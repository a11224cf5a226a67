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
from pathlib import Path

import numpy as np

from simgan.data.dataset import DatasetWriter
from simgan.data.eyes.counter_rng import image_keys
from simgan.data.eyes.params import HEAD_POSE_CONVENTION, LANDMARK_CONVENTION, LANDMARK_NAMES
from simgan.data.eyes.scene import make_scene
from simgan.data.eyes.shade import shade
from simgan.errors import SimganError
from simgan.threads import worker_count

# Gaze range (degrees) in the MPIIGaze normalized frame: pitch > 0 looks up, yaw > 0 looks
# toward the image's left. MPIIGaze's own normalized gaze lies mostly within pitch -25..+5
# and yaw -25..+25 (people look down at a screen below the camera); the margin covers it.
PITCH_RANGE_DEG = (-35.0, 15.0)
YAW_RANGE_DEG = (-35.0, 35.0)
DEFAULT_SIZE = (35, 55)
BATCH = 128  # images shaded at once: keeps the (n, H, W) float arrays in the CPU cache
SIMULATOR_VERSION = 1  # bump when the same seed would give different pictures


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


def _check_range(name: str, r: tuple[float, float], limit: float) -> tuple[float, float]:
    lo, hi = float(r[0]), float(r[1])
    if not (-limit <= lo <= hi <= limit):
        raise SimganError(f"{name} range {r} must satisfy -{limit} <= low <= high <= {limit}")
    return lo, hi


def render_eyes(
    count: int,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
    start: int = 0,
    *,
    pitch_range: tuple[float, float] = PITCH_RANGE_DEG,
    yaw_range: tuple[float, float] = YAW_RANGE_DEG,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render images start..start+count-1 of the stream `seed`.

    Returns images uint8 (count, H, W, 1) and labels: gaze float32 (count, 3) unit vectors
    (MPIIGaze normalized frame), landmarks float32 (count, K, 2) pixel (x, y) named by
    LANDMARK_NAMES, head_pose float32 (count, 3) (pitch, yaw, roll) radians. Image i is
    the same whichever slice it is rendered in.
    """
    h, w = _check_size(size)
    pitch_range = _check_range("pitch", pitch_range, 80.0)
    yaw_range = _check_range("yaw", yaw_range, 80.0)
    if count < 0 or start < 0:
        raise SimganError(f"count ({count}) and start ({start}) must not be negative")
    _keep_freed_memory()
    images = np.empty((count, h, w, 1), np.uint8)
    gaze = np.empty((count, 3), np.float32)
    head = np.empty((count, 3), np.float32)
    marks = np.empty((count, len(LANDMARK_NAMES), 2), np.float32)
    for lo in range(0, count, BATCH):
        hi = min(count, lo + BATCH)
        keys = image_keys(seed, start + lo, hi - lo)
        scene = make_scene(keys, (h, w), pitch_range, yaw_range)
        images[lo:hi, ..., 0] = shade(scene, keys, (h, w))
        gaze[lo:hi] = scene.gaze
        head[lo:hi] = scene.head_pose
        marks[lo:hi] = scene.landmarks
    return images, {"gaze": gaze, "landmarks": marks, "head_pose": head}


def write_synthetic_eyes(
    path: str | os.PathLike,
    count: int,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
    overwrite: bool = False,
    chunk: int = 4096,
    *,
    pitch_range: tuple[float, float] = PITCH_RANGE_DEG,
    yaw_range: tuple[float, float] = YAW_RANGE_DEG,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render `count` eyes into a dataset file, `chunk` images at a time (streamed, atomic).

    workers: threads rendering chunks ahead of the writer (default: the free cores, the CPUs
    available less the 1-minute load; simgan.threads.worker_count);
    numpy releases the GIL inside its loops, so they overlap. The file is the same for
    any chunk and workers. progress: optional callable(done, total) after each chunk.
    """
    h, w = _check_size(size)
    pitch_range = _check_range("pitch", pitch_range, 80.0)
    yaw_range = _check_range("yaw", yaw_range, 80.0)
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
        "gaze_range_deg": json.dumps({"pitch": list(pitch_range), "yaw": list(yaw_range)}),
        "landmark_names": json.dumps(list(LANDMARK_NAMES)),
        "landmark_convention": LANDMARK_CONVENTION,
        "head_pose_convention": HEAD_POSE_CONVENTION,
        "side": "left eye (inner corner on the image's left), like MPIIGaze's mirrored patches",
    }

    def render(lo: int):
        n = min(chunk, count - lo)
        return render_eyes(n, seed, (h, w), lo, pitch_range=pitch_range, yaw_range=yaw_range)

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
