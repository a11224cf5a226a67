"""The digits domain: font-rendered synthetic digits and the real UCI handwritten digits.

Both are processed like the UCI "optdigits" set: a 32x32 binary bitmap, divided into
non-overlapping 4x4 blocks, each block's set pixels counted (0..16), giving an 8x8 image.

Synthetic digits come from the DejaVu fonts that ship with matplotlib (sans, serif, mono;
regular, bold, oblique), with random size, slant, rotation, aspect, position and stroke width.
They look plausible next to the real scans but stay font-like, which is the domain gap a
refiner should close. Real digits are scikit-learn's `load_digits` (1,797 scans, shipped in
the package, no download).

Storage convention in the canonical file: images uint8 (N, 8, 8, 1) holding
round(count * 255 / 16), so counts 0..16 span 0..255 and previews look right;
`counts_from_uint8` inverts it exactly. Labels: `label` int64 0..9.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from simgan.data.dataset import DatasetWriter, write_dataset
from simgan.errors import SimganError

VALUE_SCALE = "uci counts 0..16 stored as round(c*255/16)"
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
)
BITMAP = 32  # UCI bitmap side; 4x4 blocks give the 8x8 image
BLOCK = 4
SUPERSAMPLE = 4  # warp at 128x128, then average 4x4 to 32x32 coverage before thresholding
FONT_SIZE = 128  # glyphs about 93 px tall: the warp to 128 px stays close to 1:1
# Extra pen width (PIL stroke_width, pixels at FONT_SIZE); about 0, 1.4, 2.7, 4 px at 32x32.
STROKE_WIDTHS = (0, 2, 4, 6)

# Random ranges per digit. The geometry follows the real scans (every row used, centred,
# about 6 of 8 columns wide, leaning right more than left); glyph shapes stay font-like.
SLANT_DEG = (-10.0, 20.0)  # shear angle, positive leans right
ROTATION_DEG = (-10.0, 10.0)
ASPECT = (0.8, 1.25)  # horizontal stretch, log-uniform
HEIGHT_FILL = (0.85, 1.0)  # ink height as a share of the 32 px bitmap (UCI normalizes size)
MAX_WIDTH = 0.875  # ink width cap as a share of the bitmap: wide glyphs shrink to fit
POSITION_JITTER = 2.0  # pixels at 32x32 each way from the centre (UCI centres its digits)
THRESHOLD = (0.3, 0.6)  # coverage needed to set a 32x32 pixel: thins or thickens strokes

# count c (0..16) -> stored uint8 round(c * 255 / 16)
_TO_UINT8 = np.round(np.arange(17) * 255 / 16).astype(np.uint8)


def counts_to_uint8(counts: np.ndarray) -> np.ndarray:
    """UCI block counts 0..16 (any int or float dtype) -> stored uint8 round(c * 255 / 16)."""
    counts = np.asarray(counts)
    c = np.rint(counts).astype(np.int64)
    if c.size and (c.min() < 0 or c.max() > 16 or not np.array_equal(c, counts)):
        raise SimganError(
            f"digit counts must be whole numbers 0..16, got values in "
            f"{counts.min()}..{counts.max()}"
        )
    return _TO_UINT8[c]


def counts_from_uint8(images: np.ndarray) -> np.ndarray:
    """Stored uint8 images -> counts 0..16 (uint8, same shape); exact inverse of the storage.

    Any uint8 value (e.g. a refined image) maps to the nearest count.
    """
    images = np.asarray(images)
    return np.rint(images.astype(np.float64) * 16 / 255).astype(np.uint8)


def font_dir() -> Path:
    """matplotlib's bundled TrueType folder (mpl-data/fonts/ttf)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.cache
def _font_paths() -> tuple[Path, ...]:
    folder = font_dir()
    paths = tuple(folder / name for name in FONT_FILES)
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise SimganError(
            f"{folder}: matplotlib's DejaVu fonts {missing} are missing; reinstall matplotlib "
            "(pip install --force-reinstall matplotlib)"
        )
    return paths


@functools.cache
def _glyph(font: int, stroke: int, digit: int) -> tuple[np.ndarray, np.ndarray]:
    """The digit rendered once per (font, stroke width), cropped to its ink.

    Returns the mask uint8 (h, w) and its ink's convex hull float (k, 2) as (x, y) pixels:
    an affine map keeps hulls convex, so the moved hull gives the moved ink's exact extent.
    """
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(str(_font_paths()[font]), FONT_SIZE)
    width = STROKE_WIDTHS[stroke]
    x0, y0, x1, y1 = face.getbbox(str(digit), stroke_width=width)
    canvas = Image.new("L", (x1 - x0 + 4, y1 - y0 + 4), 0)
    ImageDraw.Draw(canvas).text(
        (2 - x0, 2 - y0), str(digit), font=face, fill=255, stroke_width=width, stroke_fill=255
    )
    mask = np.asarray(canvas)
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    mask = np.ascontiguousarray(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    ys, xs = np.nonzero(mask > 127)
    hull = cv2.convexHull(np.stack([xs, ys], 1).astype(np.float32))[:, 0, :]
    return mask, hull.astype(np.float64)


def _warp_matrix(hull: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """2x3 affine from glyph pixels to the supersampled bitmap: slant, rotate, fit, place.

    hull: (k, 2) (x, y) ink outline; the moved ink is scaled to `fill` of the bitmap height
    (UCI bitmaps are size-normalized), centred, then shifted by (dx, dy) in [0, 1] mapped to
    at most POSITION_JITTER pixels each way.
    """
    shear = np.tan(np.radians(p["slant"]))
    rot = np.radians(p["rotation"])
    cos, sin = np.cos(rot), np.sin(rot)
    # y points down, so a right lean moves upper rows (smaller y) to the right: x' = x - s*y
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.array([[p["aspect"], -shear], [0.0, 1.0]])
    center = hull.mean(0)
    moved = (hull - center) @ linear.T
    extent_w, extent_h = np.ptp(moved, axis=0) + 1
    side = BITMAP * SUPERSAMPLE
    scale = min(p["fill"] * side / extent_h, MAX_WIDTH * side / extent_w)
    # shift at most POSITION_JITTER, and never so far that ink leaves the bitmap
    room = np.array([side - scale * extent_w, side - scale * extent_h]).clip(0) / 2
    room = np.minimum(room, POSITION_JITTER * SUPERSAMPLE)
    target = (side - 1) / 2 + (2 * np.array([p["dx"], p["dy"]]) - 1) * room
    m = scale * linear
    offset = target - m @ center - scale * (moved.min(0) + moved.max(0)) / 2
    return np.hstack([m, offset[:, None]]).astype(np.float64)


def _draw_params(count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    labels = rng.permutation(np.arange(count, dtype=np.int64) % 10)  # balanced classes
    return {
        "label": labels,
        "font": rng.integers(0, len(FONT_FILES), count),
        "stroke": rng.integers(0, len(STROKE_WIDTHS), count),
        "slant": rng.uniform(*SLANT_DEG, count),
        "rotation": rng.uniform(*ROTATION_DEG, count),
        "aspect": np.exp(rng.uniform(np.log(ASPECT[0]), np.log(ASPECT[1]), count)),
        "fill": rng.uniform(*HEIGHT_FILL, count),
        "dx": rng.uniform(0, 1, count),
        "dy": rng.uniform(0, 1, count),
        "threshold": rng.uniform(*THRESHOLD, count),
    }


def _iter_rendered(
    count: int, seed: int, chunk: int = 1024
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (images uint8 (n, 8, 8, 1), labels int64 (n,)); the same digits for any chunk."""
    if count <= 0:
        raise SimganError(f"digit count must be positive, got {count}")
    params = _draw_params(count, np.random.default_rng(seed))
    side = BITMAP * SUPERSAMPLE
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        big = np.empty((stop - start, side, side), np.uint8)
        for j, i in enumerate(range(start, stop)):
            p = {k: v[i] for k, v in params.items()}
            glyph, hull = _glyph(int(p["font"]), int(p["stroke"]), int(p["label"]))
            m = _warp_matrix(hull, p)
            big[j] = cv2.warpAffine(glyph, m, (side, side), flags=cv2.INTER_LINEAR)
        # (n, 128, 128) -> coverage (n, 32, 32) in 0..1 -> binary -> counts (n, 8, 8) 0..16
        n = stop - start
        s = SUPERSAMPLE
        coverage = big.reshape(n, BITMAP, s, BITMAP, s).mean((2, 4), dtype=np.float32) / 255
        binary = coverage > params["threshold"][start:stop, None, None]
        counts = binary.reshape(n, 8, BLOCK, 8, BLOCK).sum((2, 4))
        yield _TO_UINT8[counts][..., None], params["label"][start:stop]


def render_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render `count` synthetic digits: images uint8 (n, 8, 8, 1), labels int64 (n,).

    Classes are balanced (each digit count // 10 or one more times, shuffled); the same
    seed gives the same digits.
    """
    parts = list(_iter_rendered(count, seed))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _attrs(domain: str, source: str, **extra: object) -> dict[str, object]:
    return {"domain": domain, "source": source, "value_scale": VALUE_SCALE, **extra}


def write_synthetic_digits(
    path: str | os.PathLike, count: int = 10_000, seed: int = 0, overwrite: bool = False
) -> Path:
    """Render `count` synthetic digits straight into a dataset file (streamed, atomic)."""
    attrs = _attrs(
        "synthetic",
        "simgan digits renderer: matplotlib DejaVu fonts, 32x32 binary -> 8x8 UCI counts",
        seed=int(seed),
        fonts=list(FONT_FILES),
    )
    with DatasetWriter(path, attrs=attrs, overwrite=overwrite) as w:
        for images, labels in _iter_rendered(count, seed):
            w.append(images, label=labels)
    return Path(path)


def load_real_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real handwritten digits: images uint8 (N, 8, 8, 1), labels int64."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = counts_to_uint8(bunch.images)[..., None]
    return images, bunch.target.astype(np.int64)


def write_real_digits(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write the real digits as a dataset file (domain "real")."""
    images, labels = load_real_digits()
    attrs = _attrs(
        "real",
        "scikit-learn load_digits: UCI optdigits test set, 1,797 handwritten scans "
        "(32x32 binary -> 8x8 counts)",
    )
    return write_dataset(path, images, {"label": labels}, attrs, overwrite=overwrite)
