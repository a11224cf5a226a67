"""Image conversions, in one place: uint8 <-> [-1, 1] floats, NHWC <-> NCHW, resizing, channels.

Dataset files store uint8 (N, H, W, C); the networks see float (N, C, H, W) in [-1, 1],
x / 127.5 - 1. Every stage (training, refining, export, evaluation, importers) converts
through these functions, so the two representations cannot drift apart.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from simgan.errors import SimganError

# -- torch tensors ------------------------------------------------------------------------


def to_float(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 in [-1, 1]."""
    return images_u8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (N, C, H, W) in [-1, 1] -> uint8, rounded."""
    return images.detach().float().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def nhwc_to_nchw(images: np.ndarray) -> torch.Tensor:
    """uint8 numpy (N, H, W, C) -> uint8 tensor (N, C, H, W), contiguous."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def nchw_to_nhwc(images: torch.Tensor) -> np.ndarray:
    """uint8 tensor (N, C, H, W), on any device -> uint8 numpy (N, H, W, C)."""
    return images.permute(0, 2, 3, 1).cpu().numpy()


def to_network(
    images: np.ndarray | torch.Tensor, device: str | torch.device | None = None
) -> torch.Tensor:
    """uint8 (N, H, W, C), numpy or tensor -> float32 (N, C, H, W) in [-1, 1] on `device`
    (default: where a tensor is; only the uint8 bytes cross). The result is a permuted view,
    channels-last in memory, which convolutions take as it is."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    return to_float(images.to(device or images.device).permute(0, 3, 1, 2))


def from_network(images: torch.Tensor) -> np.ndarray:
    """float (N, C, H, W) in [-1, 1] -> uint8 numpy (N, H, W, C)."""
    return nchw_to_nhwc(to_uint8(images))


def resize_u8(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize uint8 (N, C, H, W) to size (H, W) with area/bilinear filtering."""
    x = images.float()
    mode = "area" if size[0] <= x.shape[2] and size[1] <= x.shape[3] else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    y = F.interpolate(x, size=size, mode=mode, **kwargs)
    return y.round_().clamp_(0, 255).to(torch.uint8)


# -- numpy arrays ---------------------------------------------------------------------------


def u8_to_unit_np(images: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """uint8 array of any shape -> `dtype` in [-1, 1], same shape."""
    return images.astype(dtype) / 127.5 - 1.0


def u8_to_float_np(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, C) -> float32 (N, C, H, W) in [-1, 1] (for onnxruntime)."""
    return u8_to_unit_np(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def float_to_u8_np(x: np.ndarray) -> np.ndarray:
    """float (N, C, H, W) in [-1, 1] -> uint8 (N, H, W, C), rounded like `to_uint8`."""
    y = np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(y.transpose(0, 2, 3, 1))


def clip_u8(images: np.ndarray) -> np.ndarray:
    """Any numeric array of gray levels -> uint8, clipped to 0..255 and rounded."""
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """One uint8 image (H, W) or (H, W, 1|3|4) RGB(A) -> (H, W, channels), channels 1 or 3:
    alpha dropped, RGB to gray by luminance (OpenCV's weights), gray repeated."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if channels == 1:
        if img.ndim == 3:
            img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
        return img[..., None]
    if channels == 3:
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        return img
    raise SimganError(f"channels must be 1 or 3, got {channels}")


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (N, H, W, C) -> (N, H, W, channels), each image as `to_channels` converts it
    (and gray repeated to 4 channels where 4 are asked for)."""
    if images.shape[-1] == channels:
        return images
    if channels == 4 and images.shape[-1] == 1:
        return np.repeat(images, 4, axis=-1)
    if channels not in (1, 3):
        raise SimganError(f"cannot convert images with {images.shape[-1]} channels to {channels}")
    n, h, w, _ = images.shape
    # one OpenCV call for the whole batch: images stacked as one tall picture
    tall = to_channels(images.reshape(n * h, w, images.shape[-1]), channels)
    return tall.reshape(n, h, w, channels)


def resize_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 (H, W) or (H, W, C) to size (h, w): area averaging where either axis
    shrinks, bilinear where both grow."""
    h, w = size
    if img.shape[:2] == (h, w):
        return img
    shrink = h < img.shape[0] or w < img.shape[1]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out[..., None] if img.ndim == 3 and out.ndim == 2 else out


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 (N, H, W, C) -> (N, size[0], size[1], C), each image as `resize_image` does.
    Grayscale stacks travel four images at a time as the channels of one OpenCV call."""
    n, c = images.shape[0], images.shape[-1]
    if images.shape[1:3] == tuple(size) or n == 0:
        return images
    out = np.empty((n, *size, c), np.uint8)
    if c == 1:
        for s in range(0, n, 4):  # INTER_AREA takes at most 4 channels
            block = np.ascontiguousarray(images[s : s + 4, ..., 0].transpose(1, 2, 0))
            r = resize_image(block, size)
            out[s : s + 4, ..., 0] = (r[..., None] if r.ndim == 2 else r).transpose(2, 0, 1)
        return out
    for i, im in enumerate(images):
        out[i] = resize_image(im, size).reshape(*size, c)
    return out
