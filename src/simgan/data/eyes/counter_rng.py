"""Counter-based random numbers: every value is a hash of (seed, image index, stream, slot).

A stateful generator would make image i depend on how many images were drawn before it, so
chunked rendering would change the pictures. Hashing the counter instead (splitmix64's
finalizer, a well-mixed 64-bit bijection) gives each image its own numbers, whatever the
batch it is rendered in, and it vectorizes over whole batches.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, elementwise on uint64 (wrapping arithmetic is intended)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def image_keys(seed: int, start: int, count: int) -> np.ndarray:
    """One 64-bit key per image index start..start+count-1 of the stream `seed`: (count,)."""
    seed_key = _mix(np.array([int(seed) & _MASK64], dtype=np.uint64) ^ _GOLDEN)
    idx = np.arange(start, start + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return _mix(seed_key + _mix(idx * _GOLDEN + np.uint64(1)))


def uniform(keys: np.ndarray, stream: int, count: int) -> np.ndarray:
    """(n,) image keys -> (n, count) float64 uniforms in [0, 1), distinct per stream."""
    slots = np.arange(count, dtype=np.uint64) + np.uint64((stream & 0xFFFFFFFF) << 32)
    with np.errstate(over="ignore"):
        v = _mix(keys[:, None] ^ _mix(slots * _GOLDEN)[None, :])
    return (v >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _mix32(z: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (xorshift-multiply), elementwise on uint32."""
    z = (z ^ (z >> np.uint32(16))) * np.uint32(0x7FEB352D)
    z = (z ^ (z >> np.uint32(15))) * np.uint32(0x846CA68B)
    return z ^ (z >> np.uint32(16))


def pixel_noise(keys: np.ndarray, stream: int, count: int) -> np.ndarray:
    """(n,) image keys -> (n, count) float32 noise with mean 0 and standard deviation 1.

    Triangular (the sum of two 16-bit uniforms from one 32-bit hash per pixel): close enough
    to Gaussian for sensor noise at an eighth of the cost of a 64-bit hash per value.
    """
    k = _mix(keys ^ np.uint64(stream & 0xFFFFFFFF))
    lo = (k & np.uint64(0xFFFFFFFF)).astype(np.uint32)[:, None]
    hi = (k >> np.uint64(32)).astype(np.uint32)[:, None]
    with np.errstate(over="ignore"):
        v = _mix32(_mix32(np.arange(count, dtype=np.uint32)[None, :] ^ lo) + hi)
    scale = np.float32(np.sqrt(6.0) / 65536.0)
    return (
        (v >> np.uint32(16)).astype(np.float32)
        + (v & np.uint32(0xFFFF)).astype(np.float32)
        - np.float32(65535.0)
    ) * scale
