"""Training images in memory as uint8 tensors, sampled into normalized float batches.

Images stay uint8 (a quarter of float32's memory: 1.2 M eye patches are 2.3 GB) and are
normalized on the fly to [-1, 1], on the device that runs the step. Batches are drawn with
the trainer's own torch.Generator (always a CPU generator), so a resumed run draws exactly
the batches the uninterrupted run would have, whatever the device.

On a GPU the bank lives in GPU memory when it fits (`ImageBank.to`): a batch is then one
gather on the device and nothing crosses the bus. Otherwise it stays in page-locked host
memory and each batch is gathered into a pinned buffer and copied asynchronously, so the
host never waits for the GPU to drain its queue.

Under torchrun every rank holds only its own shard: a contiguous range of rows
(`shard_range`), read straight from the file.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from simgan.data.dataset import DatasetReader
from simgan.errors import SimganError
from simgan.images import nhwc_to_nchw, resize_u8, to_float


def shard_range(count: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rows [start, stop) of rank's contiguous shard; shards are disjoint and cover all rows."""
    return rank * count // world_size, (rank + 1) * count // world_size


class ImageBank:
    """Images of one dataset file (or of one rank's shard of it) as uint8 (N, C, H, W).

    `file_count` is the number of images in the whole file, `offset` the file row of
    images[0]; both describe where a shard came from. `labels`: one label per image, e.g.
    (N, 3) float gaze, when the trainer asked for one (the refiner's label-consistency
    term), else None. Labels only ever reach a loss: they never pass through the refiner.
    """

    def __init__(
        self,
        images: torch.Tensor,
        path: str = "",
        file_count: int | None = None,
        offset: int = 0,
        labels: torch.Tensor | None = None,
    ) -> None:
        self.images = images
        self.path = path
        self.file_count = len(images) if file_count is None else int(file_count)
        self.offset = int(offset)
        self.labels = labels

    def _like(self, images: torch.Tensor, labels: torch.Tensor | None) -> ImageBank:
        return ImageBank(images, self.path, self.file_count, self.offset, labels)

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike,
        chunk: int = 65536,
        shard: tuple[int, int] | None = None,
        label: str | None = None,
    ) -> ImageBank:
        """All images of a dataset file, or with shard=(rank, world_size) only that rank's
        contiguous share of the rows (the others are never read); with `label` (a label
        name such as "gaze") that label of the same rows too."""
        with DatasetReader(path) as r:
            n, (h, w, c) = len(r), r.image_shape
            if label is not None and label not in r.label_names:
                raise SimganError(
                    f"{path}: has no '{label}' labels (it has: "
                    f"{', '.join(r.label_names) or 'none'}), which loss.lambda_label needs; "
                    "use a labelled synthetic set or set loss.lambda_label=0"
                )
            start, stop = (0, n) if shard is None else shard_range(n, *shard)
            out = torch.empty((stop - start, c, h, w), dtype=torch.uint8)
            parts = []
            for s, images, lab in r.iter_chunks(
                chunk, start=start, stop=stop, labels=label is not None
            ):
                out[s - start : s - start + len(images)] = nhwc_to_nchw(images)
                if label is not None:
                    parts.append(torch.from_numpy(lab[label].copy()))
        labels = torch.cat(parts) if parts else None
        return cls(out, str(path), file_count=n, offset=start, labels=labels)

    def __len__(self) -> int:
        return self.images.shape[0]

    def without_rows(self, rows: np.ndarray) -> ImageBank:
        """This bank less the images at file rows `rows` (e.g. those set aside for checkpoint
        selection); `file_count` still describes the whole file."""
        mine = np.arange(self.offset, self.offset + len(self))
        keep = torch.from_numpy(np.flatnonzero(~np.isin(mine, rows)))
        labels = None if self.labels is None else self.labels[keep]
        return self._like(self.images[keep], labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def to(
        self, device: torch.device, *, on_device: bool = True, pin_memory: bool = True
    ) -> ImageBank:
        """The bank placed for training on `device`.

        CUDA: in GPU memory when `on_device` and it takes under half of the free memory,
        else in pinned host memory (when `pin_memory`). CPU: unchanged.
        """
        if device.type != "cuda":
            return self
        images = self.images
        if on_device:
            free, _ = torch.cuda.mem_get_info(device)
            if images.numel() < free // 2:
                images = images.to(device)
                labels = None if self.labels is None else self.labels.to(device)
                return self._like(images, labels)
        if pin_memory and not images.is_pinned():
            images = images.pin_memory()
        return self._like(images, self.labels)

    def indices(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """batch_size distinct row indices (CPU int64), drawn with `generator`: a uniformly
        random subset of the rows.

        Large banks (at least 4x the batch): draw with replacement, then redraw only the
        positions that repeat an earlier one, until none does. Redrawing the whole batch
        instead (as before) needs about exp(b^2 / 2n) tries: ~8,000 for 128 of 898 digits,
        which made sampling most of the demo's training time. Every step of this is
        symmetric in the rows, so each subset is equally likely. Small banks: randperm."""
        n = len(self)
        if n < 4 * batch_size:
            return torch.randperm(n, generator=generator)[:batch_size]
        idx = torch.randint(n, (batch_size,), generator=generator)
        while True:
            repeats = _repeats(idx)
            if not repeats.any():
                return idx
            idx[repeats] = torch.randint(n, (int(repeats.sum()),), generator=generator)

    def sample(
        self,
        batch_size: int,
        generator: torch.Generator,
        device: torch.device | str | None = None,
        channels_last: bool = False,
    ) -> torch.Tensor:
        """A random batch, float32 (B, C, H, W) in [-1, 1] on `device` (default: where the
        bank is); rows drawn without replacement. The draws do not depend on the device."""
        return self._gather(self.indices(batch_size, generator), device, channels_last)

    def sample_labeled(
        self,
        batch_size: int,
        generator: torch.Generator,
        device: torch.device | str | None = None,
        channels_last: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of one random batch: the images exactly as `sample` draws them
        (the same generator draws), and those rows' labels on the same device."""
        if self.labels is None:
            raise SimganError(f"{self.path}: this bank was loaded without labels")
        idx = self.indices(batch_size, generator)
        x = self._gather(idx, device, channels_last)
        labels = self.labels[idx.to(self.labels.device)].to(x.device, non_blocking=True)
        return x, labels

    def _gather(
        self, idx: torch.Tensor, device: torch.device | str | None, channels_last: bool
    ) -> torch.Tensor:
        batch_size = len(idx)
        src = self.images
        device = src.device if device is None else torch.device(device)
        if src.device.type == "cuda":  # bank on the GPU: one gather there
            rows = src[idx.to(src.device, non_blocking=True)]
        elif device.type == "cuda":
            # gather into page-locked memory so the copy is asynchronous; the caching host
            # allocator keeps the buffer alive until the copy has finished
            rows = torch.empty((batch_size, *src.shape[1:]), dtype=src.dtype, pin_memory=True)
            torch.index_select(src, 0, idx, out=rows)
        else:
            rows = src[idx]
        x = to_float(rows.to(device, non_blocking=True))  # uint8 crosses the bus, not float
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def _repeats(idx: torch.Tensor) -> torch.Tensor:
    """Boolean mask of the positions whose value already occurs at an earlier position."""
    order = torch.argsort(idx, stable=True)
    ordered = idx[order]
    later = torch.zeros_like(idx, dtype=torch.bool)
    later[1:] = ordered[1:] == ordered[:-1]  # equal to its predecessor in sorted order
    mask = torch.zeros_like(later)
    mask[order] = later
    return mask


def check_compatible(
    synthetic: ImageBank, real: ImageBank, batch_size: int, resize: bool
) -> ImageBank:
    """Clear errors for mismatched domains; returns synthetic, resized if asked.

    batch_size is the global batch, checked against the whole files' image counts.
    """
    for bank, what in ((synthetic, "synthetic"), (real, "real")):
        if bank.file_count < batch_size:
            raise SimganError(
                f"{bank.path}: the {what} set has {bank.file_count} images, fewer than the "
                f"batch size {batch_size}; lower it with "
                f"--set train.batch_size={max(2, bank.file_count)}"
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
        resized = resize_u8(synthetic.images, (hr, wr))
        return synthetic._like(resized, synthetic.labels)
    return synthetic
