"""Image grids for previews, training samples and reports."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from simgan.atomic import atomic_path


def make_grid(images: np.ndarray, ncol: int = 8, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile uint8 images (N, H, W, C) into one uint8 (H', W', C) picture, row by row."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    ncol = max(1, min(ncol, n))
    nrow = (n + ncol - 1) // ncol
    grid = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), pad_value, np.uint8)
    for i in range(n):
        r, q = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def to_pil(picture: np.ndarray, scale: int = 1) -> Image.Image:
    """uint8 (H, W, C) -> PIL image, enlarged `scale` times with crisp pixels."""
    if picture.shape[-1] == 1:
        img = Image.fromarray(picture[..., 0], mode="L")
    elif picture.shape[-1] == 4:
        img = Image.fromarray(picture, mode="RGBA")
    else:
        img = Image.fromarray(picture, mode="RGB")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def save_png(
    picture: np.ndarray, path: str | os.PathLike, scale: int = 1, overwrite: bool = True
) -> None:
    """Save uint8 (H, W, C) as PNG atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        to_pil(picture, scale).save(tmp, format="PNG")


def auto_scale(h: int, w: int, target: int = 192) -> int:
    """An integer zoom that makes a small image about `target` pixels on its long side."""
    return max(1, target // max(h, w))
