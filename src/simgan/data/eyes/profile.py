"""What the simulator draws, as one object: parameter ranges, gaze ranges, sides and camera.

The defaults (DEFAULT_PROFILE) are calibrated to MPIIGaze's normalized eye patches (see
docs/simulator.md for the measured statistics). `simgan synth eyes --like REAL.h5` fits a
profile to a user's own unlabeled real set (simgan.data.eyes.fit) and saves it as JSON:

    {"format": "simgan-eye-profile", "version": 1,
     "ranges": {"shift_y": [-0.02, 0.03], ...},        # any PARAMS entry, degrees/mm/0..1
     "pitch_range": [-20, 5], "yaw_range": [-18, 18], # gaze, degrees
     "mirror_share": 0.5,                             # share drawn as the other eye side
     "equalize": true,                                # histogram equalization, last step
     "jpeg_quality": 0}                               # 0: no JPEG compression

A file names only what differs from the defaults; every name is checked.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simgan.atomic import atomic_path
from simgan.data.eyes.params import PARAMS
from simgan.errors import SimganError

PROFILE_FORMAT = "simgan-eye-profile"
PROFILE_VERSION = 1
PARAM_NAMES = tuple(name for name, _, _ in PARAMS)
FIXED = ("gaze_pitch", "gaze_yaw", "side", "iris_phase")  # uniform slots, not ranges to fit
ANGLE_LIMIT = 80.0


@dataclass(frozen=True)
class EyeProfile:
    """Ranges for every PARAMS entry and the settings of the whole picture.

    ranges: name -> (low, high) for the names it overrides (the rest keep PARAMS' range);
    pitch_range / yaw_range: gaze in degrees, MPIIGaze normalized frame; mirror_share: the
    share of eyes drawn as the other side (image flipped, labels mirrored); equalize:
    histogram equalization as the last step (MPIIGaze's normalization ends with it);
    jpeg_quality: 1-100 to compress each picture as the real set was, 0 for none.
    """

    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    pitch_range: tuple[float, float] = (-20.0, 0.0)
    yaw_range: tuple[float, float] = (-12.0, 12.0)
    mirror_share: float = 0.5
    equalize: bool = True
    jpeg_quality: int = 0

    def __post_init__(self) -> None:
        ranges = {}
        for name, r in dict(self.ranges).items():
            if name not in PARAM_NAMES or name in FIXED:
                raise SimganError(
                    f"eye profile: unknown or fixed parameter {name!r}; "
                    f"ranges may name: {', '.join(n for n in PARAM_NAMES if n not in FIXED)}"
                )
            ranges[name] = _pair(f"range of {name}", r)
        object.__setattr__(self, "ranges", ranges)
        for name in ("pitch_range", "yaw_range"):
            lo, hi = _pair(name, getattr(self, name))
            if not (-ANGLE_LIMIT <= lo <= hi <= ANGLE_LIMIT):
                raise SimganError(f"{name} ({lo}, {hi}) must lie within +-{ANGLE_LIMIT} degrees")
            object.__setattr__(self, name, (lo, hi))
        share = float(self.mirror_share)
        if not 0.0 <= share <= 1.0:
            raise SimganError(f"mirror_share {self.mirror_share} must be between 0 and 1")
        object.__setattr__(self, "mirror_share", share)
        if not isinstance(self.equalize, bool):
            raise SimganError(f"equalize {self.equalize!r} must be true or false")
        q = self.jpeg_quality
        if isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= 100:
            raise SimganError(f"jpeg_quality {q!r} must be an integer 0 (none) to 100")

    def range_of(self, name: str) -> tuple[float, float]:
        """The (low, high) this profile draws `name` from."""
        if name in self.ranges:
            return self.ranges[name]
        for n, lo, hi in PARAMS:
            if n == name:
                return (lo, hi)
        raise SimganError(f"eye profile: unknown parameter {name!r}")

    def with_ranges(self, **ranges: tuple[float, float]) -> EyeProfile:
        """A copy with some ranges replaced."""
        return replace(self, ranges={**self.ranges, **ranges})

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "ranges": {k: [round(v, 6) for v in r] for k, r in sorted(self.ranges.items())},
            "pitch_range": [round(v, 4) for v in self.pitch_range],
            "yaw_range": [round(v, 4) for v in self.yaw_range],
            "mirror_share": round(self.mirror_share, 4),
            "equalize": self.equalize,
            "jpeg_quality": self.jpeg_quality,
        }


def _pair(what: str, r: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise SimganError(f"eye profile: {what} must be [low, high], got {r!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise SimganError(f"eye profile: {what} must be finite with low <= high, got {r!r}")
    return lo, hi


def profile_from_dict(d: dict[str, Any], where: str = "eye profile") -> EyeProfile:
    """Build a profile from its JSON form (strict keys); `where` names it in errors."""
    if not isinstance(d, dict) or d.get("format") != PROFILE_FORMAT:
        raise SimganError(f'{where}: not a simgan eye profile (no "format": "{PROFILE_FORMAT}")')
    if d.get("version") != PROFILE_VERSION:
        raise SimganError(
            f"{where}: profile version {d.get('version')!r}; this simgan reads {PROFILE_VERSION}"
        )
    known = {"format", "version", "ranges", "pitch_range", "yaw_range", "mirror_share"}
    known |= {"equalize", "jpeg_quality", "fit"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise SimganError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    kw = {k: d[k] for k in known - {"format", "version", "fit"} if k in d}
    base = DEFAULT_PROFILE
    ranges = {**base.ranges, **dict(kw.pop("ranges", {}) or {})}
    try:
        return replace(base, ranges=ranges, **kw)
    except SimganError as e:
        raise SimganError(f"{where}: {e}") from None


def load_profile(path: str | os.PathLike) -> EyeProfile:
    """Read a profile written by save_profile (or `simgan synth eyes --like`)."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise SimganError(f"{path}: no such eye profile file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SimganError(f"{path}: not a readable JSON eye profile ({e})") from None
    return profile_from_dict(d, str(path))


def save_profile(
    profile: EyeProfile, path: str | os.PathLike, overwrite: bool = False, **extra: Any
) -> Path:
    """Write the profile as JSON (atomically); `extra` keys go under "fit" (not read back)."""
    d = profile.to_dict()
    if extra:
        d["fit"] = extra
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(d, indent=2) + "\n")
    return Path(path)


# Calibrated to MPIIGaze's normalized 36x60 patches (measured on the real training set,
# ../shared/data/real p00; docs/simulator.md gives the figures): the PARAMS table's ranges,
# MPIIGaze's gaze ranges, both eye sides, equalized.
DEFAULT_PROFILE = EyeProfile()
