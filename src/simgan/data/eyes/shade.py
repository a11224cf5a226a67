"""Per-pixel shading of a batch of eye scenes into grayscale pictures.

Every step is an elementwise numpy operation over (n, H, W) float32 arrays (or over the
pixels near each iris), so a picture does not depend on the batch it is rendered in.
Edges (iris, pupil, eyelids) are anti-aliased analytically: a pixel's coverage is a
one-pixel ramp of its signed distance to the edge, the distance being the edge function
divided by its gradient in pixels; one pass instead of the 4-16 of supersampling.
"""

from __future__ import annotations

import cv2
import numpy as np

from simgan.data.eyes.counter_rng import pixel_noise, uniform
from simgan.data.eyes.params import LANDMARK_NAMES
from simgan.data.eyes.profile import EyeProfile
from simgan.data.eyes.scene import EyeScene

F32 = np.float32
TEXTURE_STREAM = 1  # coarse skin texture
NOISE_STREAM = 2  # sensor noise, one hash per pixel
TEXTURE_GRID = (5, 7)  # coarse value-noise grid, rows x columns
_INNER = LANDMARK_NAMES.index("corner_inner")
_IRIS = LANDMARK_NAMES.index("iris_center")


def _c(v: np.ndarray) -> np.ndarray:
    """(n,) per-image value -> (n, 1, 1) float32 for broadcasting over pixels."""
    return np.asarray(v, dtype=F32)[:, None, None]


def _cols(v: np.ndarray) -> np.ndarray:
    """(n, W) per-column value -> (n, 1, W) float32."""
    return np.asarray(v, dtype=F32)[:, None, :]


def _ramp(d: np.ndarray) -> np.ndarray:
    """Coverage of a pixel whose centre lies d pixels inside an edge (anti-aliasing)."""
    return np.clip(d + F32(0.5), F32(0), F32(1))


def _gauss(d: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return np.exp(F32(-0.5) * (d / sigma) ** 2)


def _skin_texture(keys: np.ndarray, h: int, w: int) -> np.ndarray:
    """Smooth value noise in [-1, 1]: a coarse random grid, bilinearly enlarged. (n, H, W)"""
    gh, gw = TEXTURE_GRID
    grid = (uniform(keys, TEXTURE_STREAM, gh * gw).reshape(-1, gh, gw) * 2 - 1).astype(F32)
    fy = np.linspace(0, gh - 1, h)
    fx = np.linspace(0, gw - 1, w)
    y0, x0 = np.minimum(fy.astype(int), gh - 2), np.minimum(fx.astype(int), gw - 2)
    wy, wx = (fy - y0).astype(F32)[None, :, None], (fx - x0).astype(F32)[None, None, :]
    rows = grid[:, y0] * (1 - wy) + grid[:, y0 + 1] * wy  # (n, H, gw)
    return rows[:, :, x0] * (1 - wx) + rows[:, :, x0 + 1] * wx


def _blur(img: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Separable 3-tap blur [a, 1-2a, a], edges replicated; img (n, H, W), a (n, 1, 1)."""
    for axis in (2, 1):
        out = img * (1 - 2 * a)
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        out[tuple(hi)] += a * img[tuple(lo)]  # left/top neighbour
        out[tuple(lo)] += a * img[tuple(hi)]  # right/bottom neighbour
        first, last = list(lo), list(lo)
        first[axis], last[axis] = slice(0, 1), slice(-1, None)
        out[tuple(first)] += a * img[tuple(first)]
        out[tuple(last)] += a * img[tuple(last)]
        img = out
    return img


def _iris(scene: EyeScene, eye: np.ndarray, light_eye, x, y, near: np.ndarray) -> None:
    """Draw iris, pupil, limbus and radial streaks into `eye` (n, H, W), in place, on the
    pixels flagged in `near` only (the iris covers about a sixth of the picture).

    Iris and pupil are concentric discs in the plane that cuts the eyeball at the limbus,
    perpendicular to the gaze: seen along z they are ellipses with one common centre.
    """
    n, h, w = eye.shape
    idx = np.flatnonzero(near)
    img = idx // (h * w)
    xs, ys = x[img, 0, idx % w], y[img, (idx // w) % h, 0]
    p = scene.p

    def per(v):  # per-image value for each selected pixel
        return np.asarray(v, dtype=F32)[img]

    gx, gy, gz = (per(scene.gaze[:, i]) for i in range(3))
    r_iris = per(p["iris_radius"])
    depth = np.sqrt(per(p["eyeball_radius"]) ** 2 - r_iris**2)  # plane offset along gaze
    z = (depth - xs * gx - ys * gy) / gz  # where the pixel's ray meets the iris plane
    r = np.sqrt(np.clip(xs * xs + ys * ys + z * z - depth * depth, 0, None))  # mm from centre
    # gradient of r per image pixel, for anti-aliased edges: d(r)/dx = (x - z gx / gz) / r
    ax, ay = xs - z * gx / gz, ys - z * gy / gz
    inv_grad = per(scene.scale) * (r + F32(1e-4)) / (np.sqrt(ax * ax + ay * ay) + F32(1e-4))
    iris_cov = _ramp((r_iris - r) * inv_grad)
    pupil_cov = _ramp((per(p["pupil_radius"]) - r) * inv_grad)

    # radial streaks: angle around the gaze axis in the plane's axes e1 = (-gz, 0, gx)/|.|
    # and e2 = gaze x e1; the limbus ring darkens the rim
    norm = np.sqrt(gx * gx + gz * gz)
    e1x, e1z = -gz / norm, gx / norm
    q1 = xs * e1x + z * e1z
    q2 = xs * (gy * e1z) + ys * (gz * e1x - gx * e1z) - z * (gy * e1x)
    phi = np.arctan2(q2, q1)
    ph = per(p["iris_phase"])
    streaks = (
        F32(0.5) * np.cos(7 * phi + ph)
        + F32(0.3) * np.cos(13 * phi + 2 * ph)
        + F32(0.2) * np.cos(19 * phi + 3 * ph)
    )
    limbus = np.clip((r / r_iris - F32(0.6)) * F32(2.5), 0, 1)
    base = F32(0.08) + F32(0.45) * per(p["iris"]) ** 2  # squared: dark irises most common
    iris = base * (F32(0.55) + F32(0.45) * light_eye.reshape(-1)[idx])
    iris *= (1 + per(p["iris_texture"]) * streaks * (1 - limbus)) * (1 - F32(0.35) * limbus**2)
    flat = eye.reshape(-1)
    v = flat[idx]
    v += iris_cov * (iris - v)
    v += pupil_cov * (per(p["pupil"]) - v)
    flat[idx] = v


def shade(scene: EyeScene, keys: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Render the scenes, up to the camera's last steps (see camera): uint8 (n, H, W)."""
    h, w = size
    p, cols = scene.p, scene.cols
    s = _c(scene.scale)
    xs = np.arange(w, dtype=F32)[None, None, :]
    ys = np.arange(h, dtype=F32)[None, :, None]

    # -- eyelids: the opening between the two lid curves, anti-aliased along the normal --
    du = (ys - _cols(cols["upper"])) / np.sqrt(1 + _cols(cols["upper_slope"]) ** 2)
    dl = (_cols(cols["lower"]) - ys) / np.sqrt(1 + _cols(cols["lower_slope"]) ** 2)
    opening = _ramp(du) * _ramp(dl) * _cols(cols["inside"])

    # -- eyeball: a sphere seen along z, lit from the light's direction -----------------
    x = (xs - _c(scene.center[:, 0])) / s  # (n, 1, W) mm
    y = (ys - _c(scene.center[:, 1])) / s  # (n, H, 1) mm
    radius = _c(p["eyeball_radius"])
    zs = np.sqrt(np.clip(radius * radius - (x * x + y * y), F32(0.01), None))  # (n, H, W)
    lx, ly, lz = (_c(scene.light[:, i]) for i in range(3))
    ambient = _c(p["ambient"])
    lambert = np.clip((x * lx + y * ly - zs * lz) / radius, 0, None)
    light_eye = ambient + (1 - ambient) * lambert
    eye = _c(p["sclera"]) * light_eye

    # iris and pupil, only where an iris may be and the lids leave it visible
    center = scene.landmarks[:, _IRIS]
    reach = _c(p["iris_radius"] * scene.scale + 1.5) ** 2
    near = ((xs - _c(center[:, 0])) ** 2 + (ys - _c(center[:, 1])) ** 2 < reach) & (opening > 0)
    _iris(scene, eye, light_eye, x, y, near)

    # the pinkish caruncle fills the inner corner
    corner = scene.landmarks[:, _INNER]
    car = _gauss(xs - _c(corner[:, 0] + 1.4 * scene.scale), 1.3 * s) * _gauss(
        ys - _c(corner[:, 1]), 1.1 * s
    )
    eye += car * (_c(p["caruncle"] * p["skin"]) - eye)

    # corneal glints: Gaussian spots, separable, so only H + W exponentials per image
    for k in range(scene.glints.shape[1]):
        gl = scene.glints[:, k]
        sigma = np.maximum(_c(p["glint_size"]) * s * F32(0.6), F32(0.45))
        spot = _gauss(xs - _c(gl[:, 0]), sigma) * _gauss(ys - _c(gl[:, 1]), sigma)
        eye += _c(gl[:, 2]) * spot * (1 - eye)

    # the upper lid shades the top of the eyeball; the corners lie deeper, in shadow
    shadow = np.clip(1 - du / (2.0 * s), 0, 1)
    eye *= 1 - _c(p["lid_shadow"]) * shadow * shadow
    eye *= 1 - _c(p["corner_shadow"]) * _cols(np.clip(np.abs(cols["t"]), 0, 1) ** 3)

    # -- skin: lighting gradient, texture, crease, orbit hollow, brow --------------------
    xn = (xs - F32((w - 1) / 2)) / F32(w)
    yn = (ys - F32((h - 1) / 2)) / F32(h)
    texture = _skin_texture(keys, h, w)
    skin = _c(p["skin"]) * (1 + _c(p["skin_gradient"]) * 2 * (xn * lx + yn * ly))
    skin *= 1 + _c(p["skin_texture"]) * texture
    dc = (ys - _cols(cols["crease"])) / s  # mm below the crease
    crease = np.clip(1 - (dc / _c(p["crease_width"])) ** 2, 0, None) * _cols(cols["crease_fade"])
    skin *= 1 - _c(p["crease_strength"]) * crease
    hollow = np.clip(-dc / F32(3.0), 0, 1) * np.clip(1 + dc / F32(8.0), 0, 1)
    skin *= 1 - _c(p["orbit_shadow"]) * hollow * _cols(cols["crease_fade"])
    brow_on = _c((p["brow"] < 0.4) * (0.25 + p["brow"]))
    dbrow = (dc + _c(p["brow_gap"])) / _c(p["brow_width"])
    brow = np.clip(1 - dbrow * dbrow, 0, None) * (F32(0.75) + F32(0.25) * texture)
    skin *= 1 - brow_on * brow
    below = (ys - _cols(cols["lower"])) / s  # mm below the lower lid
    skin *= 1 + _c(p["cheek"]) * np.clip((below - F32(2.0)) / F32(6.0), 0, 1)
    fold = np.clip(1 - ((below - F32(4.0)) / F32(2.0)) ** 2, 0, None)
    skin *= 1 - _c(p["under_eye"]) * fold * _cols(cols["crease_fade"])

    img = skin + opening * (eye - skin)

    # -- lashes along the upper lid (thicker outward, a tail past the outer corner) ------
    fade = _cols(cols["lash_fade"])  # 1 between the corners, tapering to 0 on the tail
    lash_w = _c(p["lash_width"]) * s * (1 + F32(0.35) * _cols(np.clip(cols["t"], -1, 1)))
    lash_w = np.maximum(lash_w * fade * fade, F32(1.0))
    # a band from lash_w above the lid edge to a fifth of it below, with 1-pixel ramps
    band = _ramp(du + lash_w) * _ramp(F32(0.2) * lash_w - du)
    lashes = (F32(0.85) + F32(0.15) * texture) * fade
    img *= 1 - _c(p["lash_strength"]) * lashes * band
    low_w = np.maximum(lash_w * F32(0.4), F32(0.8))
    band = _ramp(dl + low_w) * _ramp(-dl)
    img *= 1 - _c(p["lower_line"]) * _cols(cols["inside"]) * band

    # -- camera: blur, contrast and tone curve, sensor noise, 8-bit ------------------------
    img = _blur(_blur(img, _c(p["blur"])), _c(p["blur"]))
    img = (img - F32(0.5)) * _c(p["contrast"]) + (F32(0.5) + _c(p["brightness"]))
    img += _c(p["tone"]) * img * (1 - img)
    img += _c(p["noise"]) * pixel_noise(keys, NOISE_STREAM, h * w).reshape(-1, h, w)
    return (np.clip(img, 0, 1) * F32(255) + F32(0.5)).astype(np.uint8)


def camera(images: np.ndarray, profile: EyeProfile) -> np.ndarray:
    """The last steps of MPIIGaze's pipeline on uint8 (n, H, W), in place: histogram
    equalization per image (its normalization ends with cv2.equalizeHist), then optional
    JPEG (as some copies of it are stored). Run after mirroring: JPEG blocks are not
    symmetric."""
    if not profile.equalize and not profile.jpeg_quality:
        return images
    params = [cv2.IMWRITE_JPEG_QUALITY, profile.jpeg_quality]
    for i, im in enumerate(images):
        if profile.equalize:
            im = cv2.equalizeHist(im)
        if profile.jpeg_quality:
            ok, buf = cv2.imencode(".jpg", im, params)
            im = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        images[i] = im
    return images
