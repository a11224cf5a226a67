"""Synthetic eyes a refiner never trained on: the simulator stream past its training file.

A file written by write_synthetic_eyes holds images 0..N-1 of the stream `seed` (its
attributes say so). The simulator renders image i of a stream the same whatever slice it
is rendered in, so images N, N+1, ... are new eyes of the same distribution: `fresh_stream`
checks that the file is such a file (its first images are rendered again and must match
exactly, which a changed simulator would break) and returns a `Stream` that renders any
later slice, with the file's own eye profile (attribute "eye_profile": a `--like` fit too).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from simgan.data.dataset import DatasetReader
from simgan.data.eyes import EyeProfile, render_eyes
from simgan.data.eyes.profile import profile_from_dict
from simgan.errors import SimganError

SIMULATOR_SOURCE = "simgan eye simulator"
CHECK_IMAGES = 4  # images re-rendered to confirm that the file is the stream it says


@dataclass(frozen=True)
class Stream:
    """The simulator stream a training file was cut from: seed, size, what it draws (the
    file's eye profile; else only its gaze ranges) and the number of images the file holds
    (the first fresh index)."""

    seed: int
    size: tuple[int, int]
    pitch_range: tuple[float, float] | None
    yaw_range: tuple[float, float] | None
    file_count: int
    profile: EyeProfile | None = None

    def render(self, count: int, offset: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Images file_count + offset .. + count - 1 of the stream, with their labels."""
        return _render(self, count, self.file_count + offset)

    def describe(self, count: int, offset: int = 0) -> str:
        lo = self.file_count + offset
        return (
            f"fresh simulator eyes {lo}..{lo + count - 1} of stream seed {self.seed} "
            f"(the training file holds images 0..{self.file_count - 1})"
        )


def _render(stream: Stream, count: int, start: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if stream.profile is not None:
        return render_eyes(count, stream.seed, stream.size, start, profile=stream.profile)
    ranges = {"pitch_range": stream.pitch_range, "yaw_range": stream.yaw_range}
    kw = {k: v for k, v in ranges.items() if v is not None}
    return render_eyes(count, stream.seed, stream.size, start, **kw)


def _profile(attrs: dict) -> EyeProfile | None:
    try:
        return profile_from_dict(json.loads(attrs["eye_profile"]))
    except (KeyError, TypeError, ValueError, SimganError):
        return None


def _ranges(attrs: dict) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    try:
        r = json.loads(attrs["gaze_range_deg"])
        return tuple(map(float, r["pitch"])), tuple(map(float, r["yaw"]))
    except (KeyError, TypeError, ValueError):
        return None, None


def fresh_stream(path: str | os.PathLike) -> Stream | None:
    """The stream behind a write_synthetic_eyes file, or None when the file is not one
    (other source, no seed, or its first images differ from the simulator's today)."""
    with DatasetReader(path) as r:
        attrs = r.attrs
        if attrs.get("source") != SIMULATOR_SOURCE or "seed" not in attrs:
            return None
        h, w, c = r.image_shape
        n = len(r)
        head, _ = r.read(0, min(CHECK_IMAGES, n), labels=False)
    pitch, yaw = _ranges(attrs)
    try:
        stream = Stream(int(attrs["seed"]), (h, w), pitch, yaw, n, _profile(attrs))
        again, _ = _render(stream, len(head), 0)
    except Exception:  # an attribute the simulator refuses: not a stream we can extend
        return None
    if c != 1 or not np.array_equal(again, head):
        return None
    return stream
