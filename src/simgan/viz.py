"""Image grids for previews, training samples and reports."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
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


SAMPLE_ROWS = ("synthetic", "refined", "4x |difference|")  # the rows of sample_grid, in order


def _font(row_height: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """PIL's default font: the crisp bitmap one for rows under 20 pixels (it fits rows of
    10), else the scalable one sized to the row where FreeType is available."""
    if row_height >= 20:
        with contextlib.suppress(TypeError, ValueError, OSError, ImportError):
            return ImageFont.load_default(size=min(row_height - 2, max(11, row_height // 6)))
    # Pillow >= 10.1 names the bitmap font; 10.0's load_default() is that font
    return getattr(ImageFont, "load_default_imagefont", ImageFont.load_default)()


def label_rows(
    picture: np.ndarray,
    labels: Sequence[str],
    row_height: int,
    pad: int = 2,
    pad_value: int = 255,
) -> np.ndarray:
    """`picture` (a make_grid of rows `row_height` - pad high) with a left margin naming each
    row: labels[i % len(labels)] beside row i. The picture itself is unchanged, to the right
    of the margin; the text is black on the pad colour."""
    h, _, c = picture.shape
    nrow = max(0, (h - pad) // row_height)
    font = _font(row_height)
    names = [labels[i % len(labels)] for i in range(nrow)] if labels else []
    widths = [int(np.ceil(font.getlength(t))) for t in names]
    margin = max(widths, default=0) + 2 * pad + 2
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
    canvas = Image.new(mode, (margin, h), (pad_value,) * c if c > 1 else pad_value)
    draw = ImageDraw.Draw(canvas)
    ink = (0, 0, 0, 255)[:c] if c > 1 else 0
    for i, text in enumerate(names):
        _, top, _, bottom = draw.textbbox((0, 0), text, font=font)
        centre = pad + i * row_height + (row_height - pad) / 2
        draw.text((pad + 1, round(centre - (top + bottom) / 2)), text, fill=ink, font=font)
    side = np.asarray(canvas, dtype=np.uint8).reshape(h, margin, c)
    return np.concatenate([side, picture], axis=1)


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
    as one uint8 (H', W', C) picture with each row named in a left margin (SAMPLE_ROWS; the
    grid right of it is make_grid's); the refiner's train/eval mode is left as it was."""
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
    return label_rows(make_grid(images, ncol=ncol), SAMPLE_ROWS, images.shape[1] + 2)
