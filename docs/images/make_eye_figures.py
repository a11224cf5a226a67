"""Draw the eye-simulator figures in this folder (run from the project root).

    python docs/images/make_eye_figures.py [--old OLD.npy] [--profile FITTED.json]

synthetic_eyes.png            8x8 eyes, 35x55, seed 0, zoom 3x
synthetic_eyes_gaze_sweep.png one eye, pitch +15..-30 (rows) by yaw +30..-30 (columns)
synthetic_eyes_landmarks.png  four eyes with their landmark labels drawn on, zoom 8x
simulator_vs_real.png         36x60, 10 each: real MPIIGaze p00 (../shared/data/real, when
                              present), the old simulator (--old: uint8 (N, 36, 60) saved
                              from simulator version 1), the calibrated defaults, and a
                              --like fit (--profile)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from simgan.data.eyes import LANDMARK_NAMES, load_profile, render_eyes
from simgan.viz import label_rows, make_grid, save_png

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[2] / "shared/data/real/mpiigaze_p00_36x60/test_images_36x60_uint8.npz"
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


def versus_real(old: str | None, profile: str | None, n: int = 10) -> None:
    rows, names = [], []
    if REAL.exists():
        real = np.load(REAL)["images"]
        rows.append(real[np.random.default_rng(0).choice(len(real), n, replace=False)])
        names.append("real p00")
    if old:
        rows.append(np.load(old)[:n])
        names.append("simulator v1")
    rows.append(render_eyes(n, seed=0, size=(36, 60))[0][..., 0])
    names.append("calibrated")
    if profile:
        rows.append(render_eyes(n, seed=0, size=(36, 60), profile=load_profile(profile))[0][..., 0])
        names.append("--like p00")
    picture = make_grid(np.concatenate(rows)[..., None], ncol=n)
    save_png(label_rows(picture, names, row_height=38), HERE / "simulator_vs_real.png", scale=2)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", help="uint8 (N, 36, 60) .npy of simulator version 1's eyes")
    ap.add_argument("--profile", help="a profile fitted with simgan synth eyes --like")
    args = ap.parse_args()
    grid()
    gaze_sweep()
    landmarks()
    versus_real(args.old, args.profile)
    for p in [*sorted(HERE.glob("synthetic_eyes*.png")), HERE / "simulator_vs_real.png"]:
        print(p.name, p.stat().st_size // 1024, "KB")
