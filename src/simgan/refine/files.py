"""Refine images and whole dataset files with a trained refiner, streaming, labels untouched.

The output has the input's length and order; every label array is copied byte for byte
(labels never pass through the refiner). Work goes chunk by chunk (read -> refine ->
append), so memory is bounded by one chunk whatever the dataset's size: a million images
need no more than a thousand (docs/scaling.md has the measurement).

Under torchrun (`refine_file_distributed`) each rank refines its contiguous shard of the rows
into a part file beside the output; rank 0 then concatenates the parts in rank order into
the output, atomically, and deletes them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simgan.data.dataset import DatasetReader, DatasetWriter
from simgan.errors import SimganError
from simgan.images import nhwc_to_nchw, to_float, to_uint8
from simgan.training import distributed as dist_
from simgan.training.batches import shard_range
from simgan.viz import to_pil


@torch.inference_mode()
def refine_array(
    refiner: Any,
    images: np.ndarray,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """uint8 (N, H, W, C) -> refined uint8 (N, H, W, C).

    refiner: any callable on float (N, C, H, W) in [-1, 1] returning the same shape: an
    nn.Module, or a refiner loaded by `load_any_refiner` (TorchScript, ONNX)."""
    out = np.empty_like(images)
    for s in range(0, len(images), batch_size):
        # uint8 crosses to the device (a quarter of float32's bytes), floats stay there
        x = to_float(nhwc_to_nchw(images[s : s + batch_size]).to(device))
        out[s : s + batch_size] = to_uint8(refiner(x)).permute(0, 2, 3, 1).cpu().numpy()
    return out


def refine_file(
    refiner: Any,
    input_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    channels: int,
    batch_size: int = 1024,
    chunk: int = 16384,
    overwrite: bool = False,
    png_dir: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    refined_by: str = "",
    rows: tuple[int, int] | None = None,
) -> int:
    """Refine every image of a dataset file (or rows [start, stop) of it) into a new one;
    returns the image count. Memory: one chunk of `chunk` images at a time."""
    with DatasetReader(input_path) as r, _PngSink(png_dir, overwrite) as png:
        if r.image_shape[2] != channels:
            raise SimganError(
                f"{input_path}: images have {r.image_shape[2]} channel(s) but the refiner "
                f"was trained on {channels}; import the data with --channels {channels}"
            )
        start, stop = (0, len(r)) if rows is None else rows
        with DatasetWriter(out_path, attrs=refined_attrs(r, refined_by), overwrite=overwrite) as w:
            for first, images, labels in r.iter_chunks(chunk, start=start, stop=stop):
                refined = refine_array(refiner, images, batch_size, device)
                w.append(refined, **labels)
                png.write(first, refined)
        return w.count


def refine_file_distributed(
    refiner: Any,
    input_path: str | os.PathLike,
    out_path: str | os.PathLike,
    env: dist_.DistEnv,
    **kwargs: Any,
) -> int:
    """refine_file across the ranks of `env`: each refines its shard into a part file, rank
    0 concatenates them into `out_path` (and writes the PNGs). Returns this rank's count.
    kwargs: as refine_file (channels, batch_size, chunk, overwrite, png_dir, device,
    refined_by)."""
    png_dir, overwrite = kwargs.pop("png_dir", None), kwargs.get("overwrite", False)
    with DatasetReader(input_path) as r:
        total = len(r)
        attrs = refined_attrs(r, kwargs.get("refined_by", ""))
    parts = [part_path(out_path, k, env.world_size) for k in range(env.world_size)]
    start, stop = shard_range(total, env.rank, env.world_size)
    count = 0
    if stop > start:  # more ranks than images leaves some shards empty
        kwargs = {**kwargs, "overwrite": True, "rows": (start, stop)}  # parts are scratch
        count = refine_file(refiner, input_path, parts[env.rank], **kwargs)
    dist_.barrier(env)
    try:
        if env.is_main:
            filled = [p for k, p in enumerate(parts) if _shard_size(total, k, env) > 0]
            concat_datasets(filled, out_path, attrs=attrs, overwrite=overwrite, png_dir=png_dir)
    finally:
        dist_.barrier(env)  # nobody leaves before the output exists (or failed)
        if env.is_main:
            for p in parts:
                p.unlink(missing_ok=True)
    return count


def concat_datasets(
    parts: list[Path],
    out_path: str | os.PathLike,
    *,
    attrs: dict[str, Any],
    overwrite: bool = False,
    png_dir: str | os.PathLike | None = None,
    chunk: int = 16384,
) -> int:
    """Append dataset files, in order, into one (atomic); labels copied byte for byte."""
    n = 0
    with _PngSink(png_dir, overwrite) as png:
        with DatasetWriter(out_path, attrs=attrs, overwrite=overwrite) as w:
            for part in parts:
                with DatasetReader(part) as r:
                    for _, images, labels in r.iter_chunks(chunk):
                        w.append(images, **labels)
                        png.write(n, images)
                        n += len(images)
    return n


def part_path(out_path: str | os.PathLike, rank: int, world_size: int) -> Path:
    """The hidden part file of one rank, beside the output."""
    out = Path(out_path)
    return out.with_name(f".{out.name}.part{rank:05d}-of-{world_size:05d}.h5")


def refined_attrs(reader: DatasetReader, refined_by: str) -> dict[str, Any]:
    """The input's attrs, marked as refined (the writer adds its own format fields)."""
    attrs = {**reader.attrs, "domain": "refined", "refined_from": str(reader.path)}
    attrs["refined_by"] = refined_by
    for k in ("format", "format_version", "created_by", "created_at"):
        attrs.pop(k, None)
    return attrs


def _shard_size(total: int, rank: int, env: dist_.DistEnv) -> int:
    start, stop = shard_range(total, rank, env.world_size)
    return stop - start


class _PngSink:
    """Writes refined images as NNNNNNN.png into a temporary folder that replaces png_dir
    only on success; does nothing when png_dir is None."""

    def __init__(self, png_dir: str | os.PathLike | None, overwrite: bool) -> None:
        self.png_dir = None if png_dir is None else Path(png_dir)
        if self.png_dir is not None and self.png_dir.exists() and not overwrite:
            raise SimganError(f"{self.png_dir}: already exists; pass --overwrite to replace it")
        self.tmp: Path | None = None

    def __enter__(self) -> _PngSink:
        if self.png_dir is not None:
            self.png_dir.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(
                tempfile.mkdtemp(prefix=f".{self.png_dir.name}.", dir=self.png_dir.parent)
            )
        return self

    def write(self, first: int, images: np.ndarray) -> None:
        """images: uint8 (n, H, W, C), file numbers first .. first + n - 1."""
        if self.tmp is not None:
            for i, img in enumerate(images):
                to_pil(img).save(self.tmp / f"{first + i:07d}.png")

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp is None:
            return
        try:
            if exc_type is None:
                if self.png_dir.exists():
                    shutil.rmtree(self.png_dir)
                os.replace(self.tmp, self.png_dir)
        finally:
            if self.tmp.exists():
                shutil.rmtree(self.tmp)
