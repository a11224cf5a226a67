"""Reading, cropping and resizing images for the importers (RGB order, uint8).

Box coordinates are continuous pixel coordinates with (0, 0) at the top-left corner of the
top-left pixel, so a crop starting at x0 maps a point x to (x - x0) * scale.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from simgan.errors import SimganError
from simgan.images import clip_u8, resize_image, to_channels

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
DEFAULT_SIZE = (35, 55)  # (H, W), the paper's eye size


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file -> uint8 (H, W) grayscale or (H, W, 3) RGB (alpha dropped).

    16-bit images are scaled to 8 bits. Raises SimganError naming the file when the bytes
    cannot be decoded.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)  # not cv2.imread: works with any file name
    except OSError as e:
        raise SimganError(f"{path}: cannot read ({e.strerror})") from None
    img = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) if raw.size else None
    if img is None:
        raise SimganError(f"{path}: not a decodable image (corrupt or not png/jpg/bmp)")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB
        img = cv2.cvtColor(img, code)
    return img


def pixels_to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 as is; floats in 0..1 or 0..255 scaled to uint8 (NaN as 0, clipped, rounded)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    x = image.astype(np.float64)
    if x.size and np.nanmax(x) <= 1.0 + 1e-6:
        x = x * 255.0
    return clip_u8(np.nan_to_num(x))


def fit_box(shape: tuple[int, ...], size: tuple[int, int], mode: str = "crop") -> np.ndarray:
    """Box (x0, y0, w, h) of an image of `shape` that `fit` resizes to size (h, w).

    'crop': the largest centred box with the target aspect; 'stretch': the whole image.
    """
    H, W = shape[:2]
    h, w = size
    if mode == "stretch" or abs(H * w - W * h) <= 0.01 * H * w:  # aspect already right
        return np.array([0.0, 0.0, W, H])
    if mode != "crop":
        raise SimganError(f"fit mode must be 'crop' or 'stretch', got '{mode}'")
    if W * h > H * w:  # too wide: trim the sides
        cw = max(1, round(H * w / h))
        return np.array([(W - cw) // 2, 0.0, cw, H])
    ch = max(1, round(W * h / w))
    return np.array([0.0, (H - ch) // 2, W, ch])


def fit(
    img: np.ndarray, size: tuple[int, int], mode: str = "crop"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bring any image to size (h, w) -> (image, origin, scale) as `crop_resize` returns."""
    return crop_resize(img, fit_box(img.shape, size, mode), size)


def fit_image(
    img: np.ndarray, size: tuple[int, int], channels: int, mode: str = "crop"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`fit` of the image in `channels` (1 or 3) -> (image (h, w, channels), origin, scale)."""
    image, origin, scale = fit(to_channels(img, channels), size, mode)
    return (image if image.ndim == 3 else image[..., None]), origin, scale


def aspect_box(cx: float, cy: float, width: float, size: tuple[int, int]) -> np.ndarray:
    """Box (x0, y0, w, h) centred on (cx, cy) of the given width and the aspect of size."""
    h = width * size[0] / size[1]
    return np.array([cx - width / 2, cy - h / 2, width, h])


def crop_resize(
    img: np.ndarray, box: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut box (x0, y0, w, h) out of img (edges replicated past the border), resize to size.

    Returns (crop, origin, scale): a point p in img maps to (p - origin) * scale in the crop.
    """
    H, W = img.shape[:2]
    x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
    x1, y1 = int(np.ceil(box[0] + box[2])), int(np.ceil(box[1] + box[3]))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    pad = [max(0, -y0), max(0, y1 - H), max(0, -x0), max(0, x1 - W)]
    part = img[max(0, y0) : min(H, y1), max(0, x0) : min(W, x1)]
    if part.size == 0:
        raise SimganError(f"crop box {np.round(box, 1).tolist()} lies outside the {W}x{H} image")
    if any(pad):
        part = cv2.copyMakeBorder(part, *pad, borderType=cv2.BORDER_REPLICATE)
    crop = resize_image(part, size)
    scale = np.array([size[1] / (x1 - x0), size[0] / (y1 - y0)])
    return crop, np.array([x0, y0], dtype=np.float64), scale


def check_crop_scale(crop_scale: float) -> None:
    """Refuse a crop width (in eye widths) outside 0.5..10, NaN included."""
    if not 0.5 <= crop_scale <= 10:
        raise SimganError(f"crop scale {crop_scale} must be between 0.5 and 10 eye widths")


def mirror(img: np.ndarray) -> np.ndarray:
    """Flip an image (H, W[, C]) left-right (makes a right eye look like a left eye)."""
    return np.ascontiguousarray(img[:, ::-1])


def similarity(centre: np.ndarray, angle: float, scale: float, size: tuple[int, int]) -> np.ndarray:
    """(2, 3) matrix taking image points to crop points: `centre` (x, y) to the crop's centre,
    turned by -`angle` radians (a line at `angle`, y down, becomes horizontal), `scale` crop
    pixels per image pixel; crop of size (h, w)."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    a = np.array([[c, s], [-s, c]])
    t = np.array([size[1] / 2, size[0] / 2]) - a @ np.asarray(centre, np.float64)
    return np.concatenate([a, t[:, None]], axis=1)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K, 2) points through a (2, 3) affine matrix."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def warp_crop(img: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The crop of size (h, w) that the (2, 3) `matrix` (image -> crop points) cuts out of img.

    Edges are replicated past the border. Where the crop shrinks the image, it is warped at k
    times the size (bilinear) and area-averaged down by k, so it does not alias.
    """
    h, w = size
    shrink = np.linalg.svd(matrix[:, :2], compute_uv=False).min()
    k = int(np.clip(np.ceil(1 / max(shrink, 1e-6)), 1, 8))
    big = matrix * k
    # OpenCV indexes pixel centres: index = continuous coordinate - 0.5, on both sides
    big[:, 2] += big[:, :2] @ [0.5, 0.5] - 0.5
    out = cv2.warpAffine(
        img, big, (w * k, h * k), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    if k > 1:
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)
    return out[..., None] if img.ndim == 3 and out.ndim == 2 else out


def equalize_hist(img: np.ndarray) -> np.ndarray:
    """cv2.equalizeHist of a uint8 (H, W[, C]) crop; colour crops equalize their luma."""
    if img.ndim == 2 or img.shape[2] == 1:
        return cv2.equalizeHist(
            np.ascontiguousarray(img[..., 0] if img.ndim == 3 else img)
        ).reshape(img.shape)
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
