"""The labelled domain-gap benchmark's target domain, and the share of the gap closed.

`make_target_domain` turns simulator output into a "target" domain that looks like another
camera while keeping every pixel where it was (no warps, crops or flips), so the simulator's
gaze labels stay exact. Per image, with parameters drawn from ranges (the style) by a
generator seeded with `seed`, in this order:

1. camera response: gamma (> 1 darkens the mid-tones, like an under-exposed webcam), then
   the range squeezed into [black, white] (lifted blacks, dimmer whites);
2. illumination: a radial vignette (darker towards the corners, centre jittered) times a
   linear brightness ramp in a random direction;
3. optics: Gaussian blur (defocus, a lower-resolution lens);
4. texture: multiplicative low-frequency mottling (smoothed noise), like skin and uneven
   lighting the renderer lacks;
5. sensor noise: Poisson-Gaussian (shot noise growing with brightness plus read noise);
6. quantisation to 8 bits and JPEG compression (blocking, ringing).

Styles: "default", "mild" (weaker everything), "strong" (stronger everything). Colour images
are processed per channel with shared parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from simgan.errors import SimganError
from simgan.evaluate._common import as_gaze, as_images
from simgan.evaluate.gaze_estimation import evaluate_gaze, train_gaze_estimator

# Each entry: (low, high) of a uniform draw per image, for the styles
# default, mild, strong in that order.
_STYLE_NAMES = ("default", "mild", "strong")
_RANGES: dict[str, tuple[tuple[float, float], ...]] = {
    "gamma": ((1.5, 1.9), (1.2, 1.5), (1.8, 2.4)),
    "black": ((0.06, 0.1), (0.03, 0.06), (0.1, 0.15)),
    "white": ((0.8, 0.9), (0.88, 0.95), (0.7, 0.8)),
    "vignette": ((0.3, 0.45), (0.15, 0.3), (0.4, 0.55)),
    "ramp": ((0.2, 0.5), (0.0, 0.2), (0.4, 0.8)),
    "blur_px": ((0.8, 1.1), (0.5, 0.8), (1.1, 1.5)),
    "mottle": ((0.03, 0.06), (0.01, 0.03), (0.05, 0.08)),
    "shot": ((0.0006, 0.0012), (0.0003, 0.0006), (0.001, 0.002)),
    "read": ((0.01, 0.016), (0.005, 0.01), (0.016, 0.025)),
    "jpeg_quality": ((50, 70), (70, 90), (35, 50)),
}
STYLES: dict[str, dict[str, tuple[float, float]]] = {
    name: {key: ranges[i] for key, ranges in _RANGES.items()} for i, name in enumerate(_STYLE_NAMES)
}


def make_target_domain(images: np.ndarray, seed: int = 0, style: str = "default") -> np.ndarray:
    """uint8 (N, H, W, C) simulator images -> uint8 (N, H, W, C) "target camera" images.

    Same geometry (labels stay exact), different appearance; deterministic for a seed.
    """
    images = as_images(images, "images")
    if style not in STYLES:
        raise SimganError(f"unknown target-domain style '{style}'; choose one of {list(STYLES)}")
    ranges = STYLES[style]
    n, h, w, c = images.shape
    rng = np.random.default_rng(seed)
    p = {k: rng.uniform(lo, hi, n) for k, (lo, hi) in ranges.items()}
    centre = rng.uniform(-0.15, 0.15, (n, 2))
    ramp_angle = rng.uniform(0, 2 * math.pi, n)
    x = images.astype(np.float64) / 255.0  # (N, H, W, C) in [0, 1]

    # 1. camera response
    x = x ** p["gamma"][:, None, None, None]
    x = p["black"][:, None, None, None] + (p["white"] - p["black"])[:, None, None, None] * x

    # 2. illumination: vignette and ramp, on coordinates in [-1, 1]
    v = np.linspace(-1, 1, h)[None, :, None]
    u = np.linspace(-1, 1, w)[None, None, :]
    r2 = ((u - centre[:, 0, None, None]) ** 2 + (v - centre[:, 1, None, None]) ** 2) / 2
    light = 1 - p["vignette"][:, None, None] * r2
    along = u * np.cos(ramp_angle)[:, None, None] + v * np.sin(ramp_angle)[:, None, None]
    light = light * (1 + p["ramp"][:, None, None] * along / 2)
    x = x * light[..., None]

    # 3. optics and 4. texture (low-frequency mottling, drawn per image)
    mottle = ndimage.gaussian_filter(rng.normal(size=(n, h, w)), sigma=(0, 4.0, 4.0))
    mottle /= mottle.std(axis=(1, 2), keepdims=True) + 1e-12
    for i in range(n):
        s = p["blur_px"][i]
        x[i] = ndimage.gaussian_filter(x[i], sigma=(s, s, 0), mode="nearest")
    x = x * (1 + p["mottle"][:, None, None, None] * mottle[..., None])

    # 5. sensor noise: variance = shot * signal + read^2
    var = p["shot"][:, None, None, None] * np.clip(x, 0, 1) + p["read"][:, None, None, None] ** 2
    x = x + rng.normal(size=x.shape) * np.sqrt(var)

    # 6. 8 bits and JPEG
    out = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
    for i in range(n):
        out[i] = _jpeg(out[i], int(round(p["jpeg_quality"][i])))
    return out


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip one (H, W, C) uint8 image through JPEG at `quality`."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 gray/BGR
        return image
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return dec.reshape(image.shape)


def gap_closed(e_syn: float, e_ref: float, e_oracle: float) -> float:
    """Share of the domain gap that refinement closes: (E_syn - E_ref) / (E_syn - E_oracle).

    1 = refined training as good as training on the target itself, 0 = no better than raw
    synthetic, negative = worse. NaN when there is no gap (E_syn <= E_oracle).
    """
    gap = e_syn - e_oracle
    if not gap > 0:
        return float("nan")
    return float((e_syn - e_ref) / gap)


def domain_gap_errors(
    train_sets: Mapping[str, tuple[np.ndarray, np.ndarray]],
    test_images: np.ndarray,
    test_gaze: np.ndarray,
    train_fn: Callable[[np.ndarray, np.ndarray], Any] | None = None,
) -> dict[str, Any]:
    """Train one gaze estimator per named training set and score each on the same test set.

    train_sets: name -> (images uint8 (N, H, W, C), gaze (N, 3)), e.g. "synthetic",
    "refined", "oracle". train_fn(images, gaze) -> model (default: train_gaze_estimator
    with its defaults). Returns {name: error summary} plus "gap_closed" when the three names
    above are all present.
    """
    test_images = as_images(test_images, "target test images")
    test_gaze = as_gaze(test_gaze, len(test_images), "target test gaze")
    fn = train_fn or (lambda x, g: train_gaze_estimator(x, g))
    out: dict[str, Any] = {}
    for name, (x, g) in train_sets.items():
        out[name] = evaluate_gaze(fn(x, g), test_images, test_gaze)
    if {"synthetic", "refined", "oracle"} <= set(train_sets):
        out["gap_closed"] = gap_closed(
            *(out[k]["mean_angular_error_deg"] for k in ("synthetic", "refined", "oracle"))
        )
    return out
