"""Helpers shared by the evaluation modules: image and label checks, seeding, splits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from simgan.errors import SimganError
from simgan.images import convert_channels, resize_images


def as_images(images: np.ndarray, what: str = "images") -> np.ndarray:
    """Check and return uint8 (N, H, W, C); accepts (N, H, W) grayscale."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise SimganError(
            f"{what}: dtype {images.dtype}, expected uint8 in 0..255 (as stored in dataset files)"
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise SimganError(f"{what}: shape {images.shape}, expected (N, H, W, C) with C 1, 3 or 4")
    if len(images) == 0:
        raise SimganError(f"{what}: no images")
    return images


def as_gaze(gaze: np.ndarray, n: int, what: str = "gaze") -> np.ndarray:
    """Check and return float32 (N, 3) gaze vectors, normalised to unit length."""
    g = np.asarray(gaze, dtype=np.float64)
    if g.shape != (n, 3):
        raise SimganError(f"{what}: shape {g.shape}, expected ({n}, 3), one vector per image")
    norms = np.linalg.norm(g, axis=1, keepdims=True)
    if not np.isfinite(g).all() or (norms < 1e-6).any():
        raise SimganError(f"{what}: contains NaN, infinite or zero-length vectors")
    return (g / norms).astype(np.float32)


def match_images(
    reference: np.ndarray, other: np.ndarray, resize: bool, names: tuple[str, str]
) -> np.ndarray:
    """Return `other` with the (H, W, C) of `reference`, or raise if they differ and not resize."""
    if reference.shape[1:] == other.shape[1:]:
        return other
    if not resize:
        raise SimganError(
            f"{names[1]} images are {_hwc(other)} but {names[0]} images are {_hwc(reference)}; "
            "both sets must have the same size and channels: pass resize=True (--resize on the "
            f"command line) to resize the {names[1]} images to the {names[0]} size"
        )
    other = convert_channels(other, reference.shape[-1])
    return resize_images(other, reference.shape[1:3])


def _hwc(images: np.ndarray) -> str:
    h, w, c = images.shape[1:]
    return f"{h}x{w}x{c}"


@contextlib.contextmanager
def seeded(seed: int, device: str | torch.device = "cpu") -> Iterator[None]:
    """Seed torch inside the block and restore the caller's RNG state afterwards."""
    dev = torch.device(device)
    # fork_rng saves and restores the CPU generator and, for CUDA, the listed devices'
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def split_indices(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Random (rest, held_out) index arrays with round(n * fraction) held out."""
    perm = rng.permutation(n)
    k = int(round(n * fraction))
    return np.sort(perm[k:]), np.sort(perm[:k])


def read_model_file(path, what: str, hint: str, kinds: tuple[str, ...], device="cpu") -> dict:
    """The dict of a model file simgan saved (weights_only load) whose `kind` is one of
    `kinds`; one clear error naming the file otherwise. `what` names the file's purpose in
    messages, `hint` how to write one."""
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise SimganError(f"{path}: {what} file not found") from None
    except Exception as e:  # unreadable or foreign file: unpickling errors vary
        raise SimganError(
            f"{path}: not a readable {what} file ({type(e).__name__}); {hint}"
        ) from None
    kind = blob.get("kind") if isinstance(blob, dict) else None
    if kind not in kinds:
        raise SimganError(f"{path}: not a {what} file written by simgan (kind {kind!r})")
    return blob
