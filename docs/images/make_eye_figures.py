"""Draw the eye-simulator figures in this folder (run from the project root).

    python docs/images/make_eye_figures.py

synthetic_eyes.png            8x8 eyes, 35x55, seed 0, zoom 3x
synthetic_eyes_gaze_sweep.png one eye, pitch +15..-30 (rows) by yaw +30..-30 (columns)
synthetic_eyes_landmarks.png  four eyes with their landmark labels drawn on, zoom 8x
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from simgan.data.eyes import LANDMARK_NAMES, render_eyes
from simgan.viz import make_grid, save_png

HERE = Path(__file__).resolve().parent
COLORS = {"pupil": (255, 40, 40), "iris_": (230, 0, 230), "upper": (40, 220, 40),
          "lower": (40, 140, 255), "corner": (255, 220, 0)}  # fmt: skip


def grid() -> None:
    images, _ = render_eyes(64, seed=0)
    save_png(make_grid(images, ncol=8), HERE / "synthetic_eyes.png", scale=3)


def gaze_sweep(index: int = 7) -> None:
    rows = []
    for pitch in (15, 0, -15, -30):
        for yaw in (30, 15, 0, -15, -30):
            img, _ = render_eyes(1, seed=0, start=index, pitch_range=(pitch, pitch),
                                 yaw_range=(yaw, yaw))  # fmt: skip
            rows.append(img[0])
    save_png(make_grid(np.stack(rows), ncol=5), HERE / "synthetic_eyes_gaze_sweep.png", scale=4)


def landmarks(zoom: int = 8) -> None:
    images, labels = render_eyes(4, seed=0, start=8)
    h, w = images.shape[1:3]
    sheet = Image.new("RGB", (2 * w * zoom + 2, 2 * h * zoom + 2), (255, 255, 255))
    for i, (img, marks) in enumerate(zip(images, labels["landmarks"], strict=True)):
        tile = Image.fromarray(img[..., 0]).resize((w * zoom, h * zoom), Image.NEAREST)
        tile = tile.convert("RGB")
        draw = ImageDraw.Draw(tile)
        for name, (x, y) in zip(LANDMARK_NAMES, marks, strict=True):
            color = next(c for key, c in COLORS.items() if key in name)
            cx, cy = (x + 0.5) * zoom, (y + 0.5) * zoom  # pixel centres at whole numbers
            draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], outline=color, width=2)
        sheet.paste(tile, ((i % 2) * (w * zoom + 2), (i // 2) * (h * zoom + 2)))
    sheet.save(HERE / "synthetic_eyes_landmarks.png", optimize=True)


if __name__ == "__main__":
    grid()
    gaze_sweep()
    landmarks()
    for p in sorted(HERE.glob("synthetic_eyes*.png")):
        print(p.name, p.stat().st_size // 1024, "KB")
