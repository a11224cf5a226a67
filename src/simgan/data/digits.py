"""The digits domain: font-rendered synthetic digits and the real UCI handwritten digits.

Both are processed like the UCI "optdigits" set: a 32x32 binary bitmap, divided into
non-overlapping 4x4 blocks, each block's set pixels counted (0..16), giving an 8x8 image.

Synthetic digits come from the DejaVu fonts that ship with matplotlib (sans, serif, mono;
regular, bold, oblique), with random size, slant, rotation, aspect, position and stroke width
(`DigitStyle`; optional elastic distortion and pen pressure, off by default).
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
from dataclasses import dataclass
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
# about 6 of 8 columns wide); glyph shapes stay font-like unless elastic distortion bends them.


@dataclass(frozen=True)
class DigitStyle:
    """How much the rendered digits vary (the simulator's ranges, drawn per digit)."""

    # shear angle, positive leans right. The real scans stand upright (mean shear -0.04);
    # (-10, 20) leaned them right (+0.17). (-15, 10), chosen on the real validation split
    # (docs/evaluation.md), raised raw-synthetic accuracy for every classifier and seed.
    slant_deg: tuple[float, float] = (-15.0, 10.0)
    rotation_deg: tuple[float, float] = (-10.0, 10.0)
    aspect: tuple[float, float] = (0.8, 1.25)  # horizontal stretch, log-uniform
    fill: tuple[float, float] = (0.85, 1.0)  # ink height as a share of the 32 px bitmap
    max_width: float = 0.875  # ink width cap as a share of the bitmap: wide glyphs shrink
    position_jitter: float = 2.0  # pixels at 32x32 each way from the centre
    threshold: tuple[float, float] = (0.3, 0.6)  # coverage that sets a 32x32 pixel
    # elastic distortion (Simard et al. 2003): a random displacement field smoothed by a
    # Gaussian of `elastic_sigma` pixels (at 32x32) and scaled to `elastic_alpha` pixels;
    # 0 = off. Bends strokes the way hands do, which fonts never do.
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0
    # pen pressure: the threshold varies smoothly over the digit by up to +- this much,
    # so one stroke is thicker in places than in others; 0 = off
    pressure: float = 0.0


DEFAULT_STYLE = DigitStyle()  # fonts with affine variation; no elastic, no pressure

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


def _warp_matrix(hull: np.ndarray, p: dict[str, float], style: DigitStyle) -> np.ndarray:
    """2x3 affine from glyph pixels to the supersampled bitmap: slant, rotate, fit, place.

    hull: (k, 2) (x, y) ink outline; the moved ink is scaled to `fill` of the bitmap height
    (UCI bitmaps are size-normalized), centred, then shifted by (dx, dy) in [0, 1] mapped to
    at most style.position_jitter pixels each way.
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
    scale = min(p["fill"] * side / extent_h, style.max_width * side / extent_w)
    # shift at most position_jitter, and never so far that ink leaves the bitmap
    room = np.array([side - scale * extent_w, side - scale * extent_h]).clip(0) / 2
    room = np.minimum(room, style.position_jitter * SUPERSAMPLE)
    target = (side - 1) / 2 + (2 * np.array([p["dx"], p["dy"]]) - 1) * room
    m = scale * linear
    offset = target - m @ center - scale * (moved.min(0) + moved.max(0)) / 2
    return np.hstack([m, offset[:, None]]).astype(np.float64)


def _draw_params(count: int, rng: np.random.Generator, style: DigitStyle) -> dict[str, np.ndarray]:
    labels = rng.permutation(np.arange(count, dtype=np.int64) % 10)  # balanced classes
    return {
        "label": labels,
        "font": rng.integers(0, len(FONT_FILES), count),
        "stroke": rng.integers(0, len(STROKE_WIDTHS), count),
        "slant": rng.uniform(*style.slant_deg, count),
        "rotation": rng.uniform(*style.rotation_deg, count),
        "aspect": np.exp(rng.uniform(*np.log(style.aspect), count)),
        "fill": rng.uniform(*style.fill, count),
        "dx": rng.uniform(0, 1, count),
        "dy": rng.uniform(0, 1, count),
        "threshold": rng.uniform(*style.threshold, count),
    }


def _smooth_field(rng: np.random.Generator, side: int, sigma: float) -> np.ndarray:
    """A random field (side, side) smoothed by a Gaussian of `sigma` px, scaled to max |1|."""
    field = cv2.GaussianBlur(rng.uniform(-1, 1, (side, side)).astype(np.float32), (0, 0), sigma)
    return field / max(float(np.abs(field).max()), 1e-6)


def _elastic(big: np.ndarray, rng: np.random.Generator, style: DigitStyle) -> np.ndarray:
    """Elastic distortion of one supersampled glyph (side, side) uint8."""
    side = big.shape[0]
    s = SUPERSAMPLE
    dx = _smooth_field(rng, side, style.elastic_sigma * s) * style.elastic_alpha * s
    dy = _smooth_field(rng, side, style.elastic_sigma * s) * style.elastic_alpha * s
    grid = np.arange(side, dtype=np.float32)
    map_x, map_y = grid[None, :] + dx, grid[:, None] + dy
    return cv2.remap(big, map_x, map_y, cv2.INTER_LINEAR, borderValue=0)


def _iter_rendered(
    count: int, seed: int, chunk: int = 1024, style: DigitStyle = DEFAULT_STYLE
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (images uint8 (n, 8, 8, 1), labels int64 (n,)); the same digits for any chunk
    (a digit's elastic and pressure fields come from a generator of its own index)."""
    if count <= 0:
        raise SimganError(f"digit count must be positive, got {count}")
    params = _draw_params(count, np.random.default_rng(seed), style)
    side = BITMAP * SUPERSAMPLE
    local = style.elastic_alpha > 0 or style.pressure > 0
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        n = stop - start
        big = np.empty((n, side, side), np.uint8)
        threshold = np.broadcast_to(
            params["threshold"][start:stop, None, None], (n, BITMAP, BITMAP)
        ).copy()
        for j, i in enumerate(range(start, stop)):
            p = {k: v[i] for k, v in params.items()}
            glyph, hull = _glyph(int(p["font"]), int(p["stroke"]), int(p["label"]))
            m = _warp_matrix(hull, p, style)
            big[j] = cv2.warpAffine(glyph, m, (side, side), flags=cv2.INTER_LINEAR)
            if local:
                rng = np.random.default_rng([seed, i])
                if style.elastic_alpha > 0:
                    big[j] = _elastic(big[j], rng, style)
                if style.pressure > 0:
                    threshold[j] += style.pressure * _smooth_field(rng, BITMAP, 3.0)
        # (n, 128, 128) -> coverage (n, 32, 32) in 0..1 -> binary -> counts (n, 8, 8) 0..16
        s = SUPERSAMPLE
        coverage = big.reshape(n, BITMAP, s, BITMAP, s).mean((2, 4), dtype=np.float32) / 255
        binary = coverage > threshold
        counts = binary.reshape(n, 8, BLOCK, 8, BLOCK).sum((2, 4))
        yield _TO_UINT8[counts][..., None], params["label"][start:stop]


def render_digits(
    count: int, seed: int = 0, style: DigitStyle = DEFAULT_STYLE
) -> tuple[np.ndarray, np.ndarray]:
    """Render `count` synthetic digits: images uint8 (n, 8, 8, 1), labels int64 (n,).

    Classes are balanced (each digit count // 10 or one more times, shuffled); the same
    seed (and style) gives the same digits.
    """
    parts = list(_iter_rendered(count, seed, style=style))
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
