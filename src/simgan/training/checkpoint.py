"""Checkpoints that resume exactly: written atomically, loaded with weights_only=True.

A checkpoint is a plain dict of tensors and Python values:
    format, simgan_version, config (dict), step, phase,
    refiner, discriminator (state dicts), opt_refiner, opt_discriminator,
    history (HistoryBuffer.state_dict()), rng {torch, data, cuda?}, data (what it trained on).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from simgan import __version__
from simgan.atomic import atomic_path
from simgan.errors import SimganError

FORMAT = "simgan-checkpoint"


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `state` to `path` atomically (temporary file, then rename)."""
    state = {"format": FORMAT, "simgan_version": __version__, **state}
    path = Path(path)
    with atomic_path(path, overwrite=True) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint safely (weights_only) with a clear message for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise SimganError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise SimganError(
            f"{path}: not a readable simgan checkpoint ({str(e).splitlines()[0][:120]}); "
            "it may be truncated; use another checkpoint of the run"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SimganError(f"{path}: not a simgan checkpoint (no '{FORMAT}' marker)")
    return state


def find_checkpoint(run_or_file: str | os.PathLike) -> Path:
    """A run folder -> its checkpoints/last.pt; a file -> itself."""
    p = Path(run_or_file)
    if p.is_dir():
        last = p / "checkpoints" / "last.pt"
        if not last.is_file():
            raise SimganError(
                f"{p}: no checkpoints/last.pt in this folder; is it a simgan run folder?"
            )
        return last
    if not p.exists():
        raise SimganError(f"{p}: no such run folder or checkpoint file")
    return p
