"""Eye geometry of a batch of scenes: gaze, head pose, eyeball, eyelids, and the labels.

Units are millimetres in an eye-centred frame that shares the axes of the MPIIGaze
normalized camera frame (x right, y down, z away from the camera); the picture is an
orthographic view along +z, scaled to pixels. The eyeball is a sphere (radius about 12 mm);
iris and pupil are concentric discs in the plane that cuts it at the limbus, perpendicular
to the gaze, so they move and foreshorten with gaze exactly and share one centre. The
eyelids are curves on an ellipsoid just outside the eyeball, fixed to the head: they turn
with the head pose and open or close with the eye's pitch relative to the head (the upper
lid follows vertical gaze, the lower lid a little).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgan.data.eyes.counter_rng import uniform
from simgan.data.eyes.params import (
    CORNEA_BULGE,
    CORNEA_RADIUS,
    LANDMARK_NAMES,
    MM_ACROSS_HEIGHT,
    MM_ACROSS_WIDTH,
    N_IRIS,
    N_LID,
    PARAM_STREAM,
    PARAMS,
)
from simgan.data.eyes.profile import EyeProfile


@dataclass
class EyeScene:
    """Everything the shader needs for a batch of n images, and the labels."""

    p: dict[str, np.ndarray]  # per-image parameters (n,) float64, names from PARAMS
    gaze: np.ndarray  # (n, 3) unit vectors, camera frame
    head_pose: np.ndarray  # (n, 3) pitch, yaw, roll radians
    scale: np.ndarray  # (n,) pixels per mm
    center: np.ndarray  # (n, 2) eyeball centre in pixels (x, y)
    landmarks: np.ndarray  # (n, K, 2) pixels
    glints: np.ndarray  # (n, 2, 3) glint x, y in pixels and strength (0 when hidden)
    light: np.ndarray  # (n, 3) unit direction toward the main light
    cols: dict[str, np.ndarray]  # per-column lid curves, (n, W) each, in pixels


def _rotation(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Head rotation Rz(roll) Ry(yaw) Rx(-pitch) as (n, 3, 3), written out elementwise so
    the result of each image does not depend on the batch it is computed in."""
    ca, sa = np.cos(-pitch), np.sin(-pitch)
    cb, sb = np.cos(yaw), np.sin(yaw)
    cc, sc = np.cos(roll), np.sin(roll)
    z, o = np.zeros_like(ca), np.ones_like(ca)
    rx = [[o, z, z], [z, ca, -sa], [z, sa, ca]]
    ry = [[cb, z, sb], [z, o, z], [-sb, z, cb]]
    rz = [[cc, -sc, z], [sc, cc, z], [z, z, o]]

    def mul(a, b):
        return [
            [a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j] for j in range(3)]
            for i in range(3)
        ]

    return np.stack([np.stack(row, -1) for row in mul(rz, mul(ry, rx))], -2)


def _apply(rot: np.ndarray, x, y, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotate points given as (n, M) coordinate arrays by (n, 3, 3) rotations."""
    r = rot[:, None]  # (n, 1, 3, 3)
    return tuple(r[..., i, 0] * x + r[..., i, 1] * y + r[..., i, 2] * z for i in range(3))


def _bump(t: np.ndarray, inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """(1 + t)^inner (1 - t)^outer scaled to a peak of 1: a lid's height profile, (n, M)."""
    a, b = inner[:, None], outer[:, None]
    top = (a - b) / (a + b)  # where the profile peaks
    peak = (1 + top) ** a * (1 - top) ** b
    return (1 + t) ** a * (1 - t) ** b / peak


def _lid_curves(p: dict[str, np.ndarray], eye_pitch: np.ndarray, t: np.ndarray):
    """Head-frame eyelid and crease curves at parameters t (-1 inner corner, +1 outer)."""
    hw = p["half_width"][:, None]
    x = hw * t
    line = -p["canthal_tilt"][:, None] * t  # outer corner (t = +1) higher, y is down
    lift = 10.4 * np.sin(eye_pitch)  # iris centre height change, mm (up is positive)
    open_u = p["open_upper"] * np.minimum(1.0, 0.55 + 3.0 * p["squint"])
    open_u = np.maximum(open_u + p["lid_follow"] * lift, 0.8)[:, None]
    open_l = np.maximum(p["open_lower"] - 0.4 * lift, 1.0)[:, None]  # lower lid: less
    tc = np.clip(t, -1.0, 1.0)
    bump_u = _bump(tc, p["upper_inner"], p["upper_outer"]) * (1 + p["upper_skew"][:, None] * tc)
    bump_l = _bump(tc, p["lower_inner"], p["lower_outer"]) * (1 + p["lower_skew"][:, None] * tc)
    upper = line - open_u * bump_u
    lower = line + open_l * bump_l
    # the crease follows the lid less (skin folds rather than moves) and spans wider
    crease_open = np.maximum(p["open_upper"] + 0.3 * lift, 2.0) + p["crease_height"]
    crease = line - 0.9 * crease_open[:, None] * (1 - tc**2) ** 0.7
    return x, upper, lower, crease


def _surface_depth(p: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z of the lid surface (an ellipsoid hugging the eyeball), toward the camera."""
    rx = p["half_width"][:, None] + 2.5
    rz = p["eyeball_radius"][:, None] + 0.6
    q = 1 - (x / rx) ** 2 - (y / 13.0) ** 2
    return -rz * np.sqrt(np.maximum(q, 0.02))


def _columns(xs: np.ndarray, cx: np.ndarray, cy: np.ndarray):
    """Piecewise-linear y(x) of projected curves (n, M) at pixel columns xs (W,).

    Returns y (n, W), slope (n, W), and inside (n, W) bool (between the curve's ends).
    """
    cx = np.maximum.accumulate(cx, axis=1)  # guard: keep x increasing along the curve
    m = cx.shape[1]
    k = (cx[:, None, :] <= xs[None, :, None]).sum(-1) - 1  # (n, W) segment index
    k = np.clip(k, 0, m - 2)
    x0 = np.take_along_axis(cx, k, 1)
    x1 = np.take_along_axis(cx, k + 1, 1)
    y0 = np.take_along_axis(cy, k, 1)
    y1 = np.take_along_axis(cy, k + 1, 1)
    dx = np.maximum(x1 - x0, 1e-6)
    slope = (y1 - y0) / dx
    w = np.clip((xs[None, :] - x0) / dx, 0.0, 1.0)
    inside = (xs[None, :] >= cx[:, :1]) & (xs[None, :] <= cx[:, -1:])
    return y0 + w * (y1 - y0), slope, inside


def _pitchyaw_to_vector(pitch: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """float64 twin of simgan.data.gaze_conventions.pitchyaw_to_vector: (n,), (n,) -> (n, 3)."""
    return np.stack(
        [-np.cos(pitch) * np.sin(yaw), -np.sin(pitch), -np.cos(pitch) * np.cos(yaw)], -1
    )


def _lights_and_glints(p: dict[str, np.ndarray], gaze: np.ndarray, px) -> tuple:
    """Main light direction (n, 3) and two corneal glints (n, 2, 3): x, y pixels, strength.

    A glint is the cornea point whose normal halves the angle between the light and the
    camera; it fades out when that point falls off the cornea.
    """
    ones = np.ones_like(p["light_x"])
    lights = []
    for x, y in ((p["light_x"], p["light_y"]), (p["light2_x"], p["light2_y"])):
        lt = np.stack([x, y, -ones], -1)
        lights.append(lt / np.linalg.norm(lt, axis=-1, keepdims=True))
    strengths = (p["glint"], 0.7 * p["glint"] * (p["glint2"] < 0.3))  # 2nd light: 30%
    cornea = (p["eyeball_radius"] + CORNEA_BULGE - CORNEA_RADIUS)[:, None] * gaze
    glints = []
    for lt, strength in zip(lights, strengths, strict=True):
        half = lt + np.array([0.0, 0.0, -1.0])
        half /= np.linalg.norm(half, axis=-1, keepdims=True)
        pt = cornea + CORNEA_RADIUS * half
        on_cornea = np.clip(((half * gaze).sum(-1) - np.cos(np.radians(40))) / 0.05, 0, 1)
        xy = px(pt[:, :1], pt[:, 1:2])[:, 0]
        glints.append(np.concatenate([xy, (strength * on_cornea)[:, None]], -1))
    return lights[0], np.stack(glints, 1)


def make_scene(keys: np.ndarray, size: tuple[int, int], profile: EyeProfile) -> EyeScene:
    """Draw the parameters of one image per key and work out its geometry and labels.

    keys: (n,) uint64 image keys; size: (H, W); profile: the ranges to draw from.
    """
    h, w = size
    u = uniform(keys, PARAM_STREAM, len(PARAMS))
    p = {}
    for i, (name, _, _) in enumerate(PARAMS):
        lo, hi = profile.range_of(name)
        p[name] = lo + (hi - lo) * u[:, i]
    pitch_range, yaw_range = profile.pitch_range, profile.yaw_range
    pitch = np.radians(pitch_range[0] + (pitch_range[1] - pitch_range[0]) * p["gaze_pitch"])
    yaw = np.radians(yaw_range[0] + (yaw_range[1] - yaw_range[0]) * p["gaze_yaw"])
    gaze = _pitchyaw_to_vector(pitch, yaw)
    # the head turns part of the way toward the target, the eye does the rest
    head = np.stack(
        [
            0.25 * pitch + np.radians(p["head_pitch"]),
            0.3 * yaw + np.radians(p["head_yaw"]),
            np.radians(p["head_roll"]),
        ],
        -1,
    )
    rot = _rotation(head[:, 0], head[:, 1], head[:, 2])
    gaze_in_head_y = (
        rot[:, 0, 1] * gaze[:, 0] + rot[:, 1, 1] * gaze[:, 1] + rot[:, 2, 1] * gaze[:, 2]
    )
    eye_pitch = np.arcsin(np.clip(-gaze_in_head_y, -1.0, 1.0))
    scale = min(w / MM_ACROSS_WIDTH, h / MM_ACROSS_HEIGHT) * p["scale"]

    def project(x, y, widen=1.0):
        x = x * widen
        return _apply(rot, x, y, _surface_depth(p, x, y))[:2]

    t = np.linspace(-1.0, 1.0, 33)
    x, upper, lower, crease = _lid_curves(p, eye_pitch, t)
    ux, uy = project(x, upper)
    lx, ly = project(x, lower)
    cx_, cy_ = project(x, crease, widen=1.15)
    mid_x = (ux[:, 0] + ux[:, -1]) / 2
    mid_y = (uy[:, 0] + uy[:, -1]) / 2
    # MPIIGaze's normalization centres the patch on the midpoint of the eye corners
    ex = (w - 1) / 2 + p["shift_x"] * w - scale * mid_x
    ey = (h - 1) / 2 + p["shift_y"] * h - scale * mid_y

    def px(x, y):
        return np.stack([ex[:, None] + scale[:, None] * x, ey[:, None] + scale[:, None] * y], -1)

    # landmarks
    radius, r_iris = p["eyeball_radius"], p["iris_radius"]
    d_iris = np.sqrt(radius**2 - r_iris**2)  # iris plane depth along the gaze
    center = px(d_iris[:, None] * gaze[:, :1], d_iris[:, None] * gaze[:, 1:2])  # (n, 1, 2)
    tk = np.linspace(-1.0, 1.0, N_LID + 2)[1:-1]
    xk, uk, lk, _ = _lid_curves(p, eye_pitch, tk)
    e1 = np.stack([-gaze[:, 2], np.zeros_like(pitch), gaze[:, 0]], -1)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = np.cross(gaze, e1)
    phi = 2 * np.pi * np.arange(N_IRIS) / N_IRIS
    ring = (
        d_iris[:, None, None] * gaze[:, None, :]
        + r_iris[:, None, None] * np.cos(phi)[None, :, None] * e1[:, None, :]
        + r_iris[:, None, None] * np.sin(phi)[None, :, None] * e2[:, None, :]
    )
    landmarks = np.concatenate(
        [
            center,
            center,
            px(*project(xk, uk)),
            px(*project(xk, lk)),
            px(ux[:, :1], uy[:, :1]),
            px(ux[:, -1:], uy[:, -1:]),
            px(ring[..., 0], ring[..., 1]),
        ],
        1,
    )

    light, glints = _lights_and_glints(p, gaze, px)
    cols = {}
    xs = np.arange(w, dtype=np.float64)
    cols["upper"], cols["upper_slope"], inside = _columns(xs, *px(ux, uy).transpose(2, 0, 1))
    cols["lower"], cols["lower_slope"], _ = _columns(xs, *px(lx, ly).transpose(2, 0, 1))
    cols["crease"], _, _ = _columns(xs, *px(cx_, cy_).transpose(2, 0, 1))
    cols["inside"] = inside.astype(np.float64)
    x_in, x_out = (
        landmarks[:, LANDMARK_NAMES.index("corner_inner"), 0],
        landmarks[:, LANDMARK_NAMES.index("corner_outer"), 0],
    )
    # lashes run on past the outer corner (a short tail), stop quickly at the inner one
    beyond_out = np.maximum(xs[None] - x_out[:, None], 0) / (2.0 * scale[:, None])
    beyond_in = np.maximum(x_in[:, None] - xs[None], 0) / (0.4 * scale[:, None])
    cols["lash_fade"] = np.clip(1 - beyond_out - beyond_in, 0, 1)
    # position between the corners: -1 inner, +1 outer (lashes thicken outward)
    cols["t"] = (xs[None] - (x_in + x_out)[:, None] / 2) / ((x_out - x_in)[:, None] / 2)
    cols["crease_fade"] = np.clip(1 - (cols["t"] / 1.2) ** 2, 0, 1)
    return EyeScene(
        p=p,
        gaze=gaze,
        head_pose=head,
        scale=scale,
        center=np.stack([ex, ey], -1),
        landmarks=landmarks,
        glints=glints,
        light=light,
        cols=cols,
    )
