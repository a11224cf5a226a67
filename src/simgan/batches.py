"""Training images in memory as uint8 tensors, sampled into normalized float batches.

Images stay uint8 (a quarter of float32's memory: 1.2 M eye patches are 2.3 GB) and are
normalized on the fly to [-1, 1]. Batches are drawn with the trainer's own torch.Generator,
so a resumed run draws exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from simgan.data.dataset import DatasetReader
from simgan.errors import SimganError


def to_float(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 in [-1, 1]."""
    return images_u8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (N, C, H, W) in [-1, 1] -> uint8, rounded."""
    return images.detach().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def nhwc_to_nchw(images: np.ndarray) -> torch.Tensor:
    """uint8 numpy (N, H, W, C) -> uint8 tensor (N, C, H, W), contiguous."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def resize_u8(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize uint8 (N, C, H, W) to size (H, W) with area/bilinear filtering."""
    x = images.float()
    mode = "area" if size[0] <= x.shape[2] and size[1] <= x.shape[3] else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    y = F.interpolate(x, size=size, mode=mode, **kwargs)
    return y.round_().clamp_(0, 255).to(torch.uint8)


class ImageBank:
    """All images of one dataset file as a uint8 tensor (N, C, H, W)."""

    def __init__(self, images: torch.Tensor, path: str = "") -> None:
        self.images = images
        self.path = path

    @classmethod
    def from_file(cls, path: str | os.PathLike, chunk: int = 65536) -> ImageBank:
        with DatasetReader(path) as r:
            n, (h, w, c) = len(r), r.image_shape
            out = torch.empty((n, c, h, w), dtype=torch.uint8)
            for start, images, _ in r.iter_chunks(chunk, labels=False):
                out[start : start + len(images)] = nhwc_to_nchw(images)
        return cls(out, str(path))

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """A random batch, float32 (B, C, H, W) in [-1, 1]; rows drawn without replacement."""
        n = len(self)
        if n >= 4 * batch_size:
            idx = torch.randint(n, (batch_size,), generator=generator)
            # collisions are rare at this ratio; redraw them for a clean without-replacement batch
            while idx.unique().numel() < batch_size:
                idx = torch.randint(n, (batch_size,), generator=generator)
        else:
            idx = torch.randperm(n, generator=generator)[:batch_size]
        return to_float(self.images[idx])


def check_compatible(
    synthetic: ImageBank, real: ImageBank, batch_size: int, resize: bool
) -> ImageBank:
    """Clear errors for mismatched domains; returns synthetic, resized if asked."""
    for bank, what in ((synthetic, "synthetic"), (real, "real")):
        if len(bank) < batch_size:
            raise SimganError(
                f"{bank.path}: the {what} set has {len(bank)} images, fewer than the batch "
                f"size {batch_size}; lower it with --set train.batch_size={max(2, len(bank))}"
            )
    (cs, hs, ws), (cr, hr, wr) = synthetic.shape, real.shape
    if cs != cr:
        raise SimganError(
            f"{synthetic.path} has {cs} channel(s) but {real.path} has {cr}; import both with the "
            "same --channels"
        )
    if (hs, ws) != (hr, wr):
        if not resize:
            raise SimganError(
                f"{synthetic.path} is {hs}x{ws} but {real.path} is {hr}x{wr}; re-create one at "
                "the other's size, or pass --resize to resize the synthetic images to the real size"
            )
        return ImageBank(resize_u8(synthetic.images, (hr, wr)), synthetic.path)
    return synthetic
