"""Fit the simulator to a user's unlabeled real set: `simgan synth eyes --like REAL.h5`.

Statistics matching (see statistics.py): the fit renders a small set with a candidate
profile, measures it, and searches the settings (scipy's Powell method, bounded) for the
profile whose statistics lie closest to the real set's. The renders reuse one seed, so
that a change in the distance comes from the settings and not from drawing other eyes.
Settings it fits:

- the share of right eyes: first the best of 0, 0.5, 1 and the share that explains the
  left-right asymmetry of the mean image (a set of share s has (1 - 2 s) times the
  asymmetry of a one-sided set), judged by the statistics, and again against the mirror
  twin of each new geometry (the same iris positions drawn as the other side);
- equalization on or off and the JPEG quality (from the histogram and blockiness);
- the gaze ranges (centre and half-width of pitch and yaw);
- the centre of each range in KNOBS (its width kept): framing, scale, lids, brightness,
  blur, texture.

The result names the fitted settings and the distance before and after; two-sample tests
against the real set belong to the caller (simgan.evaluate), which this package does not
import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import minimize

from simgan.data.eyes.profile import ANGLE_LIMIT, DEFAULT_PROFILE, EyeProfile
from simgan.data.eyes.simulator import render_eyes
from simgan.data.eyes.statistics import (
    SHAPE_SCALE,
    eye_statistics,
    statistics_distance,
    statistics_table,
)
from simgan.errors import SimganError

# PARAMS ranges whose centre the fit moves (width kept), and the limits it stays within
KNOBS: tuple[tuple[str, float, float], ...] = (
    ("shift_x", -0.15, 0.15),
    ("shift_y", -0.25, 0.15),
    ("scale", 0.7, 1.3),
    ("half_width", 11.0, 18.0),
    ("open_upper", 2.5, 7.0),
    ("iris_radius", 5.3, 7.0),
    ("blur", 0.0, 0.33),
    ("lash_strength", 0.2, 1.0),
    ("skin", 0.3, 0.95),
    ("sclera", 0.4, 1.0),
    ("cheek", 0.0, 0.5),
    ("crease_strength", 0.0, 0.7),
    ("skin_texture", 0.0, 0.2),
    ("noise", 0.0, 0.03),
)
# gaze: (profile field, centre limits, half-width limits), degrees
GAZE_KNOBS = (
    ("pitch_range", (-40.0, 30.0), (1.0, 30.0)),
    ("yaw_range", (-30.0, 30.0), (1.0, 35.0)),
)
JPEG_QUALITIES = (0, 95, 85, 75, 60, 45)
FIT_SEED = 1_000_003  # the renders' stream: not the seed a dataset is usually drawn from


@dataclass
class FitResult:
    """A fitted profile, the statistics distance (and the caller's image distance, when
    given) before and after, and what the fit changed."""

    profile: EyeProfile
    distance_before: float
    distance_after: float
    real_statistics: dict[str, object]
    before_statistics: dict[str, object]
    after_statistics: dict[str, object]
    evaluations: int
    image_distance_before: float | None = None
    image_distance_after: float | None = None
    history: list[tuple[str, float]] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """What to print and to save beside the profile."""
        return {
            "distance_before": round(self.distance_before, 3),
            "distance_after": round(self.distance_after, 3),
            "image_distance_before": self.image_distance_before,
            "image_distance_after": self.image_distance_after,
            "evaluations": self.evaluations,
            "real": self.real_statistics,
            "simulated_before": self.before_statistics,
            "simulated_after": self.after_statistics,
        }


class _Objective:
    """What the search minimises for a profile, counted: the statistics distance of its
    renders to the real set's, divided by the start profile's; plus, when the caller gives
    one, image_distance(renders) (e.g. KID to the real set) divided by the start's.
    The last few profiles' renders and figures are kept: the search asks again for the one
    it just accepted, and renders are a pure function of the profile."""

    KEEP = 8

    def __init__(
        self,
        target: dict[str, np.ndarray],
        size: tuple[int, int],
        count: int,
        image_distance: Callable[[np.ndarray], float] | None,
    ):
        self.target, self.size, self.count = target, size, count
        self.image_distance = image_distance
        self.evaluations = 0
        self.scale = (1.0, 1.0)
        self._kept: dict[str, dict] = {}

    def _entry(self, profile: EyeProfile) -> dict:
        key = repr(profile)
        if key not in self._kept:
            images = render_eyes(self.count, FIT_SEED, self.size, profile=profile)[0]
            stats = eye_statistics(images)
            self._kept[key] = {"images": images, "stats": stats}
            if len(self._kept) > self.KEEP:
                self._kept.pop(next(iter(self._kept)))
        return self._kept[key]

    def stats(self, profile: EyeProfile) -> dict[str, np.ndarray]:
        return self._entry(profile)["stats"]

    def parts(self, profile: EyeProfile) -> tuple[float, float]:
        """(statistics distance, image distance or 0) of the profile's renders."""
        e = self._entry(profile)
        if "image_distance" not in e:
            e["image_distance"] = self.image_distance(e["images"]) if self.image_distance else 0.0
        return statistics_distance(e["stats"], self.target), e["image_distance"]

    def start_from(self, profile: EyeProfile) -> tuple[float, float]:
        parts = self.parts(profile)
        self.scale = (max(parts[0], 1e-9), max(abs(parts[1]), 1e-12))
        return parts

    def __call__(self, profile: EyeProfile) -> float:
        self.evaluations += 1
        d, e = self.parts(profile)
        return d / self.scale[0] + (e / self.scale[1] if self.image_distance else 0.0)


def _moved(lo: float, hi: float, centre: float, limits: tuple[float, float]) -> tuple:
    """The range (lo, hi) moved to `centre`, kept inside limits (narrowed if needed)."""
    half = (hi - lo) / 2
    centre = float(np.clip(centre, *limits))
    return (max(centre - half, limits[0]), min(centre + half, limits[1]))


def mirror_share_of(real: dict[str, np.ndarray], one_sided: dict[str, np.ndarray]) -> float:
    """The share s of right eyes that gives the real set's left-right asymmetry, from the
    asymmetry of renders drawn all as left eyes: real = (1 - 2 s) one_sided."""
    a, a0 = real["asymmetry"].ravel(), one_sided["asymmetry"].ravel()
    denom = float(a0 @ a0)
    if denom <= 1e-12:
        return 0.5
    return float(np.clip((1 - float(a @ a0) / denom) / 2, 0.0, 1.0))


SETTINGS = (*(name for name, _, _ in KNOBS), *(name for name, _, _ in GAZE_KNOBS))
GEOMETRY = ("shift_x", "shift_y", "scale", "half_width", "pitch_range", "yaw_range")
APPEARANCE = tuple(name for name, _, _ in KNOBS if name not in GEOMETRY)
_KNOB = {name: (lo, hi) for name, lo, hi in KNOBS}
_GAZE = {name: (c, h) for name, c, h in GAZE_KNOBS}


def mirror_twin(profile: EyeProfile) -> EyeProfile:
    """The profile whose pictures are this one's mirrored: the other side's share, yaw and
    horizontal shift negated. Its iris positions are the same; only the eye's own shape
    (caruncle, lid asymmetry) tells the two apart, which the search alone may miss."""
    (y0, y1), (x0, x1) = profile.yaw_range, profile.range_of("shift_x")
    return replace(
        profile.with_ranges(shift_x=(-x1, -x0)),
        mirror_share=1.0 - profile.mirror_share,
        yaw_range=(-y1, -y0),
    )


def _encode(profile: EyeProfile, names: tuple[str, ...]) -> np.ndarray:
    """Settings `names` of a profile as a vector in [0, 1]: a KNOBS range's centre within
    its limits; a gaze range's centre and half-width."""
    x = []
    for name in names:
        if name in _GAZE:
            (c0, c1), (h0, h1) = _GAZE[name]
            lo, hi = getattr(profile, name)
            x += [((lo + hi) / 2 - c0) / (c1 - c0), ((hi - lo) / 2 - h0) / (h1 - h0)]
        else:
            lo_lim, hi_lim = _KNOB[name]
            lo, hi = profile.range_of(name)
            x.append(((lo + hi) / 2 - lo_lim) / (hi_lim - lo_lim))
    return np.clip(np.array(x, np.float64), 0.0, 1.0)


def _decode(x: np.ndarray, base: EyeProfile, names: tuple[str, ...]) -> EyeProfile:
    """`base` with settings `names` read from vector x (see _encode); KNOBS ranges keep
    their width."""
    x = list(np.clip(np.asarray(x, np.float64), 0.0, 1.0))
    ranges, gaze = {}, {}
    for name in names:
        if name in _GAZE:
            (c0, c1), (h0, h1) = _GAZE[name]
            c, h = c0 + x.pop(0) * (c1 - c0), h0 + x.pop(0) * (h1 - h0)
            gaze[name] = (max(c - h, -ANGLE_LIMIT), min(c + h, ANGLE_LIMIT))
        else:
            lims = _KNOB[name]
            lo, hi = base.range_of(name)
            ranges[name] = _moved(lo, hi, lims[0] + x.pop(0) * (lims[1] - lims[0]), lims)
    return replace(base.with_ranges(**ranges), **gaze)


def fit_profile(
    real_images: np.ndarray,
    start: EyeProfile = DEFAULT_PROFILE,
    *,
    count: int = 400,
    passes: int = 2,
    evaluations: int = 1200,
    settings: tuple[str, ...] = SETTINGS,
    image_distance: Callable[[np.ndarray], float] | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Fit a profile to uint8 real patches (N, H, W[, 1]); renders at their size.

    count: renders per evaluation; passes: rounds of (side share, Powell search over the
    other settings), `evaluations` renders in all; settings: the names of KNOBS and
    GAZE_KNOBS to fit (default all; the side share, equalization and JPEG always are);
    image_distance: optional callable(uint8 renders (count, H, W, 1)) -> float to minimise
    as well (e.g. KID to the real set; simgan.evaluate has it), each term divided by its
    value at `start`; progress(pass, objective) after each (1.0 at the start).
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise SimganError(f"fit: unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    if count < 50 or passes < 1 or evaluations < 10 * passes:
        raise SimganError(
            f"fit: need count >= 50, passes >= 1 and evaluations >= 10 per pass "
            f"(got {count}, {passes}, {evaluations})"
        )
    target = eye_statistics(real_images)
    size = (len(target["rows"]), len(target["cols"]))
    objective = _Objective(target, size, count, image_distance)
    before = objective.stats(start)
    parts_before = objective.start_from(start)
    best, best_d = start, objective(start)
    history = [("start", best_d)]

    def try_all(options: list[tuple[str, EyeProfile]]) -> None:
        nonlocal best, best_d
        for name, cand in options:
            d = objective(cand)
            if d < best_d:
                best, best_d = cand, d
                history.append((name, d))

    def choose_side(options: list[EyeProfile], shape: bool = False) -> None:
        """The side share is the statistics' to judge (image features need not see which
        side an eye is); with `shape`, the eye's shape asymmetry too (a mirror twin has the
        same iris positions and only that to tell it apart)."""
        nonlocal best, best_d

        def score(p: EyeProfile) -> float:
            st = objective.stats(p)
            d = statistics_distance(st, target)
            if shape:
                d += float(
                    np.mean(
                        ((st["shape_asymmetry"] - target["shape_asymmetry"]) / SHAPE_SCALE) ** 2
                    )
                )
            return d

        scored = [(score(p), i, p) for i, p in enumerate([best, *options])]
        objective.evaluations += len(options)
        _, i, chosen = min(scored, key=lambda t: t[:2])
        if i:
            best, best_d = chosen, objective(chosen)
            history.append(("side", best_d))

    for k in range(passes):
        one_sided = objective.stats(replace(best, mirror_share=0.0))
        shares = {mirror_share_of(target, one_sided), 0.0, 0.5, 1.0} - {best.mirror_share}
        choose_side([replace(best, mirror_share=v) for v in sorted(shares)])
        if k == 0:
            try_all([("equalize", replace(best, equalize=not best.equalize))])
            others = [q for q in JPEG_QUALITIES if q != best.jpeg_quality]
            try_all([("jpeg_quality", replace(best, jpeg_quality=q)) for q in others])
        for group in (GEOMETRY, APPEARANCE):
            names = tuple(n for n in group if n in settings)
            if not names:
                continue
            base, x0 = best, _encode(best, names)
            res = minimize(
                lambda x, base=base, names=names: objective(_decode(x, base, names)),
                x0,
                method="Powell",
                bounds=[(0.0, 1.0)] * len(x0),
                options={"maxfev": evaluations // (2 * passes), "xtol": 1e-4, "ftol": 1e-5},
            )
            try_all([(",".join(names), _decode(res.x, base, names))])
            choose_side([mirror_twin(best)], shape=True)
        if progress is not None:
            progress(k + 1, best_d)
    after = objective.stats(best)
    parts_after = objective.parts(best)
    return FitResult(
        profile=best,
        distance_before=parts_before[0],
        distance_after=parts_after[0],
        image_distance_before=parts_before[1] if image_distance else None,
        image_distance_after=parts_after[1] if image_distance else None,
        real_statistics=statistics_table(target),
        before_statistics=statistics_table(before),
        after_statistics=statistics_table(after),
        evaluations=objective.evaluations,
        history=history,
    )
