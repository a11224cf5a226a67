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
BEST_CHECKPOINT = "best.pt"  # the refiner checkpoint selection chose (select.every > 0)
CHECKPOINT_CHOICES = ("best", "last")


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


def best_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """checkpoints/best.pt of a run folder that selected one, else None."""
    best = Path(run_dir) / "checkpoints" / BEST_CHECKPOINT
    return best if best.is_file() else None


def refiner_checkpoint(run_or_file: str | os.PathLike, which: str = "best") -> Path:
    """The checkpoint whose refiner a run stands for: with which="best", checkpoints/best.pt
    where checkpoint selection kept one (else last.pt); with "last", last.pt; a checkpoint
    file is itself. Resuming always uses last.pt (find_checkpoint)."""
    if which not in CHECKPOINT_CHOICES:
        raise SimganError(f"checkpoint '{which}': choose best or last")
    p = Path(run_or_file)
    if p.is_dir() and which == "best" and (best := best_checkpoint(p)) is not None:
        return best
    return find_checkpoint(p)
