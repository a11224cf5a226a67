"""Image grids for previews, training samples and reports."""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image
from torch import nn

from simgan.atomic import atomic_path
from simgan.images import to_uint8


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


def sample_grid(refiner: nn.Module, fixed: torch.Tensor, ncol: int = 8) -> np.ndarray:
    """synthetic | refined | 4x |difference| rows for a FIXED batch (N, C, H, W) in [-1, 1],
    as one uint8 (H', W', C) picture; the refiner's train/eval mode is left as it was."""
    was_training = refiner.training
    refiner.eval()
    with torch.no_grad():
        refined = refiner(fixed)
    refiner.train(was_training)
    syn, ref = to_uint8(fixed).cpu(), to_uint8(refined).cpu()
    diff = (syn.float() - ref.float()).abs().mul_(4).clamp_(0, 255).to(torch.uint8)
    rows = []
    for i in range(0, len(fixed), ncol):
        rows += [syn[i : i + ncol], ref[i : i + ncol], diff[i : i + ncol]]
    # pad short last rows so every row has ncol images
    rows = [
        torch.cat([r, torch.full((ncol - len(r), *r.shape[1:]), 255, dtype=torch.uint8)])
        if len(r) < ncol
        else r
        for r in rows
    ]
    images = torch.cat(rows).permute(0, 2, 3, 1).numpy()
    return make_grid(images, ncol=ncol)
