"""Gaze conventions (see docs: MPIIGaze normalized camera frame).

Vector (x, y, z): x right, y down, z away from the camera, so looking at the camera gives
z < 0. pitch = asin(-y) (positive = looking up), yaw = atan2(-x, -z) (positive = looking
towards the image's left, x < 0). All angles in radians.
"""

from __future__ import annotations

import numpy as np


def pitchyaw_to_vector(pitchyaw: np.ndarray) -> np.ndarray:
    """(N, 2) pitch, yaw in radians -> (N, 3) float32 unit gaze vectors."""
    py = np.asarray(pitchyaw, dtype=np.float64)
    pitch, yaw = py[..., 0], py[..., 1]
    v = np.stack(
        [-np.cos(pitch) * np.sin(yaw), -np.sin(pitch), -np.cos(pitch) * np.cos(yaw)], axis=-1
    )
    return v.astype(np.float32)


def vector_to_pitchyaw(vectors: np.ndarray) -> np.ndarray:
    """(N, 3) gaze vectors (any length) -> (N, 2) pitch, yaw in radians."""
    v = np.asarray(vectors, dtype=np.float64)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    pitch = np.arcsin(np.clip(-v[..., 1], -1.0, 1.0))
    yaw = np.arctan2(-v[..., 0], -v[..., 2])
    return np.stack([pitch, yaw], axis=-1)


def angular_error_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between gaze vectors a and b, row by row: (N, 3), (N, 3) -> (N,)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    cos = np.clip((a * b).sum(-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def mirror_gaze(vectors: np.ndarray) -> np.ndarray:
    """Gaze of the horizontally mirrored image (x -> -x, so yaw -> -yaw)."""
    v = np.array(vectors, dtype=np.float32, copy=True)
    v[..., 0] = -v[..., 0]
    return v


def unityeyes_to_normalized(look_vec: np.ndarray) -> np.ndarray:
    """UnityEyes look_vec (x right, y UP, z ...) -> our convention: negate y, unit length."""
    v = np.array(look_vec, dtype=np.float64)[..., :3]
    v[..., 1] = -v[..., 1]
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return v.astype(np.float32)
