"""What a checkpoint holds of a training run, and how a run resumes from one.

Networks and optimizers are the same on every rank, so rank 0 saves them once; each rank's
history buffer and generators differ, so the checkpoint holds all of them (rank 0's at the
top level, like a single-process run, the others under `per_rank`). Resuming with the same
number of processes restores every rank exactly; with another number, the saved buffers are
pooled and dealt out again and training continues (statistically the same run, not bit for
bit). See docs/scaling.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from simgan import __version__
from simgan.config import Config, apply_overrides, to_dict
from simgan.errors import SimganError
from simgan.training import distributed as dist_
from simgan.training.checkpoint import find_checkpoint, load_checkpoint
from simgan.training.state import TrainState

# Config keys that may change when resuming: they do not alter what was learned so far
# (perf.* changes rounding only: the run continues, not bit for bit).
RESUMABLE_CHANGES = ("train.steps", "log.", "device", "perf.")


def rank_state(state: TrainState) -> dict[str, Any]:
    """What differs between ranks: the history buffer and the random generators."""
    rng = {"torch": torch.get_rng_state(), "data": state.data_generator.get_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {"history": state.history.state_dict(), "rng": rng}


def state_to_checkpoint(
    state: TrainState,
    cfg: Config,
    data: dict[str, Any],
    *,
    other_ranks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict. Networks and optimizers are the same on every rank; history and
    rng are this rank's (rank 0's), `per_rank` holds rank_state() of ranks 1..W-1."""
    mine = rank_state(state)
    ckpt = {
        "config": to_dict(cfg),
        "step": state.step,
        "phase": cfg.phase_at(state.step),
        "refiner": state.refiner.state_dict(),
        "discriminator": state.discriminator.state_dict(),
        "opt_refiner": state.opt_refiner.state_dict(),
        "opt_discriminator": state.opt_discriminator.state_dict(),
        "history": mine["history"],
        "rng": mine["rng"],
        "data": data,
        "world_size": 1 + len(other_ranks or []),
        "selection": dict(state.selection),
    }
    if other_ranks:
        ckpt["per_rank"] = list(other_ranks)
    return ckpt


def _restore_rng(state: TrainState, rng: dict[str, Any]) -> None:
    state.data_generator.set_state(rng["data"])
    torch.set_rng_state(rng["torch"])
    cuda = rng.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def restore_state(
    state: TrainState, ckpt: dict[str, Any], *, rank: int = 0, world_size: int = 1
) -> None:
    """Load a checkpoint into `state` as rank `rank` of `world_size`.

    Same world size as saved: every rank gets back exactly its own buffer and generators.
    Another world size: the saved buffers are pooled and dealt out again, ranks that existed
    keep their generators, new ranks get fresh ones (training continues, not bit for bit)."""
    state.refiner.load_state_dict(ckpt["refiner"])
    state.discriminator.load_state_dict(ckpt["discriminator"])
    state.opt_refiner.load_state_dict(ckpt["opt_refiner"])
    state.opt_discriminator.load_state_dict(ckpt["opt_discriminator"])
    state.step = int(ckpt["step"])
    state.selection = dict(ckpt.get("selection") or {})
    saved = [{"history": ckpt["history"], "rng": ckpt["rng"]}, *ckpt.get("per_rank", [])]
    if len(saved) == world_size:
        state.history.load_state_dict(saved[rank]["history"])
        _restore_rng(state, saved[rank]["rng"])
        return
    seed = int(ckpt["config"].get("seed", 0))
    state.history.load_state_dict(
        dist_.resplit_history(
            [s["history"] for s in saved],
            rank,
            world_size,
            state.history.capacity,
            dist_.rank_seed(seed, 2, rank, state.step),
        )
    )
    if rank < len(saved):
        _restore_rng(state, saved[rank]["rng"])
    else:
        state.data_generator.manual_seed(dist_.rank_seed(seed, 1, rank, state.step))


def check_resume(cfg: Config, ckpt: dict[str, Any], data: dict[str, Any], path: Path) -> None:
    """Refuse a resume that could not continue the same run exactly."""
    version = ckpt.get("simgan_version")
    if version != __version__:
        raise SimganError(
            f"{path}: written by simgan {version}, this is simgan {__version__}; resume with "
            f"simgan {version}, or start a new run"
        )
    old = _flatten(ckpt["config"])
    new = _flatten(to_dict(cfg))
    changed = [
        k
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k) and not k.startswith(RESUMABLE_CHANGES)
    ]
    if changed:
        details = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:5])
        raise SimganError(
            f"{path}: the run was trained with another config ({details}); resume with the "
            "run's own config (only train.steps, log.*, device and perf.* may change), or "
            "start a new run"
        )
    for key in ("synthetic", "real"):
        a, b = ckpt["data"][key], data[key]
        if (a["count"], a["shape"]) != (b["count"], b["shape"]):
            raise SimganError(
                f"{path}: the run trained on {key} data of {a['count']} images {a['shape']}, "
                f"but {b['path']} has {b['count']} images {b['shape']}; resume with the same data"
            )


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def run_config(ckpt: dict[str, Any], overrides: Sequence[str] = (), where: str = "") -> Config:
    """The config saved in a checkpoint, with `key=value` overrides applied on top of it
    (check_resume decides later which changes a resume accepts)."""
    return apply_overrides(ckpt["config"], overrides, where or "checkpoint")


def load_run_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> Config:
    """The config a run was trained with, from its last checkpoint (or the checkpoint file
    given), with `key=value` overrides on top."""
    path = find_checkpoint(run_dir)
    return run_config(load_checkpoint(path), overrides, str(path))


def resume_inputs(
    run: str | Path,
    overrides: Sequence[str] = (),
    synthetic: str | Path | None = None,
    real: str | Path | None = None,
) -> tuple[Config, str, str]:
    """What `simgan train --resume RUN` continues with: (config, synthetic file, real file).

    The run's own config with the overrides on top, and the dataset files it trained on
    unless others are given; a saved file that is gone is an error naming the option."""
    path = find_checkpoint(run)
    ckpt = load_checkpoint(path)
    cfg = run_config(ckpt, overrides, str(path))
    given = {"synthetic": synthetic, "real": real}
    files = []
    for key in ("synthetic", "real"):
        if given[key] is not None:
            files.append(str(given[key]))
            continue
        saved = str(ckpt["data"][key]["path"])
        if not Path(saved).is_file():
            raise SimganError(
                f"{run}: the {key} data the run trained on, {saved}, is not there (moved or "
                f"deleted?); pass --{key} FILE with the same images"
            )
        files.append(saved)
    return cfg, files[0], files[1]
