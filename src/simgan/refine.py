"""Refine whole datasets with a trained refiner, streaming, labels untouched.

The output has the input's length and order; every label array is copied byte for byte
(labels never pass through the refiner). Works chunk by chunk, so a million images need
only one chunk in memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from simgan.batches import nhwc_to_nchw, to_float, to_uint8
from simgan.checkpoint import find_checkpoint, load_checkpoint
from simgan.config import Config, from_dict
from simgan.data.dataset import DatasetReader, DatasetWriter
from simgan.errors import SimganError
from simgan.models import build_refiner
from simgan.viz import to_pil


def load_refiner(
    run_or_checkpoint: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, Config, int]:
    """The trained refiner of a run (folder or checkpoint file), in eval mode.

    Returns (refiner, config, channels).
    """
    ckpt = load_checkpoint(find_checkpoint(run_or_checkpoint), map_location=device)
    cfg = from_dict(Config, ckpt["config"])
    channels = int(ckpt["data"]["real"]["shape"][0])
    refiner = build_refiner(cfg.model.refiner, channels)
    refiner.load_state_dict(ckpt["refiner"])
    return refiner.to(device).eval(), cfg, channels


@torch.no_grad()
def refine_array(
    refiner: nn.Module,
    images: np.ndarray,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """uint8 (N, H, W, C) -> refined uint8 (N, H, W, C)."""
    out = np.empty_like(images)
    for s in range(0, len(images), batch_size):
        x = to_float(nhwc_to_nchw(images[s : s + batch_size]).to(device))
        out[s : s + batch_size] = to_uint8(refiner(x)).permute(0, 2, 3, 1).cpu().numpy()
    return out


def refine_file(
    refiner: nn.Module,
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
) -> int:
    """Refine every image of a dataset file into a new one; returns the image count."""
    png_tmp = _png_tmp(png_dir, overwrite)
    try:
        with DatasetReader(input_path) as r:
            if r.image_shape[2] != channels:
                raise SimganError(
                    f"{input_path}: images have {r.image_shape[2]} channel(s) but the refiner "
                    f"was trained on {channels}; import the data with --channels {channels}"
                )
            attrs = {**r.attrs, "domain": "refined", "refined_from": str(input_path)}
            attrs["refined_by"] = refined_by
            for k in ("format", "format_version", "created_by", "created_at"):
                attrs.pop(k, None)
            with DatasetWriter(out_path, attrs=attrs, overwrite=overwrite) as w:
                for start, images, labels in r.iter_chunks(chunk):
                    refined = refine_array(refiner, images, batch_size, device)
                    w.append(refined, **labels)
                    if png_tmp is not None:
                        for i, img in enumerate(refined):
                            to_pil(img).save(png_tmp / f"{start + i:07d}.png")
            count = w.count
        if png_tmp is not None:
            if Path(png_dir).exists():
                shutil.rmtree(png_dir)
            os.replace(png_tmp, png_dir)
    finally:
        if png_tmp is not None and png_tmp.exists():
            shutil.rmtree(png_tmp)
    return count


def _png_tmp(png_dir: str | os.PathLike | None, overwrite: bool) -> Path | None:
    if png_dir is None:
        return None
    png_dir = Path(png_dir)
    if png_dir.exists() and not overwrite:
        raise SimganError(f"{png_dir}: already exists; pass --overwrite to replace it")
    png_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{png_dir.name}.", dir=png_dir.parent))
