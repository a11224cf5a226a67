"""The SimGAN training loop (Shrivastava et al. 2017, Algorithm 1).

Phases, in order, over one global step counter (the phase is derived from the step):
  1. pretrain_refiner       R learns the self-regularization loss alone (R(x) ~ x)
  2. pretrain_discriminator D learns real vs refined with R fixed
  3. adversarial            each step: K_g refiner updates (D fixed), then K_d discriminator
                            updates (R fixed) on real images and refined images drawn half
                            from the current R and half from the history buffer
Every random draw comes from generators saved in the checkpoint, so resuming at step k and
training to N gives exactly the weights of an uninterrupted run to N.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from simgan import __version__
from simgan.batches import ImageBank, check_compatible, to_uint8
from simgan.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint
from simgan.config import Config, diff_from_defaults, dump_yaml, from_dict, to_dict
from simgan.errors import SimganError
from simgan.history import HistoryBuffer
from simgan.losses import (
    REAL,
    REFINED,
    discriminator_loss,
    patch_accuracy,
    refiner_loss,
    self_regularization_loss,
)
from simgan.models import build_discriminator, build_refiner
from simgan.run_dir import RunLog, new_run_dir
from simgan.viz import auto_scale, make_grid, save_png

# Config keys that may change when resuming: they do not alter what was learned so far.
RESUMABLE_CHANGES = ("train.steps", "log.", "device")


@dataclass
class TrainState:
    """Everything that evolves during training; all of it goes into the checkpoint."""

    refiner: nn.Module
    discriminator: nn.Module
    opt_refiner: torch.optim.Optimizer
    opt_discriminator: torch.optim.Optimizer
    history: HistoryBuffer
    data_generator: torch.Generator  # batch sampling
    step: int = 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SimganError(f"device '{name}' asked for, but no CUDA device is available")
    return torch.device(name)


def make_optimizer(cfg: Config, params, lr: float) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return torch.optim.Adam(params, lr=lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay)


def build_state(cfg: Config, channels: int, device: torch.device) -> TrainState:
    """Fresh networks, optimizers and buffer, all seeded from cfg.seed."""
    torch.manual_seed(cfg.seed)
    refiner = build_refiner(cfg.model.refiner, channels).to(device)
    discriminator = build_discriminator(cfg.model.discriminator, channels).to(device)
    data_generator = torch.Generator().manual_seed(cfg.seed + 1)
    return TrainState(
        refiner=refiner,
        discriminator=discriminator,
        opt_refiner=make_optimizer(cfg, refiner.parameters(), cfg.optim.lr_refiner),
        opt_discriminator=make_optimizer(
            cfg, discriminator.parameters(), cfg.optim.lr_discriminator
        ),
        history=HistoryBuffer(cfg.train.history_capacity, seed=cfg.seed + 2),
        data_generator=data_generator,
    )


# -- one update of each network ---------------------------------------------------------------


def refiner_update(
    state: TrainState, cfg: Config, synthetic: torch.Tensor, adversarial: bool
) -> dict[str, float]:
    """One gradient step of R. synthetic: (B, C, H, W) in [-1, 1] on the device."""
    refined = state.refiner(synthetic)
    if adversarial:
        state.discriminator.requires_grad_(False)  # D is fixed; its gradient flows to R only
        logits = state.discriminator(refined)
        total, adv, reg = refiner_loss(
            logits, refined, synthetic, cfg.loss.lambda_reg, cfg.loss.psi
        )
        state.discriminator.requires_grad_(True)
    else:
        # pretraining: self-regularization alone, so R starts out as (close to) the identity
        total = reg = self_regularization_loss(refined, synthetic, 1.0, cfg.loss.psi)
        adv = None
    state.opt_refiner.zero_grad(set_to_none=True)
    total.backward()
    state.opt_refiner.step()
    out = {"refiner_loss": total.item(), "refiner_reg": reg.item()}
    if adv is not None:
        out["refiner_adv"] = adv.item()
    return out


def discriminator_update(
    state: TrainState, synthetic: torch.Tensor, real: torch.Tensor
) -> dict[str, float]:
    """One gradient step of D on real images and history-mixed refined images (R fixed)."""
    with torch.no_grad():
        refined = state.refiner(synthetic)
    mixed = state.history.mix(refined)  # (B, C, H, W): current rows first, then history rows
    n_current = len(mixed) - state.history.last_history_rows
    logits = state.discriminator(torch.cat([real, mixed]))
    logits_real, logits_refined = logits[: len(real)], logits[len(real) :]
    loss = discriminator_loss(logits_real, logits_refined)
    state.opt_discriminator.zero_grad(set_to_none=True)
    loss.backward()
    state.opt_discriminator.step()
    with torch.no_grad():
        out = {
            "d_loss": loss.item(),
            "d_acc_real": patch_accuracy(logits_real, REAL).item(),
            "d_acc_refined": patch_accuracy(logits_refined[:n_current], REFINED).item(),
        }
        if n_current < len(mixed):
            out["d_acc_history"] = patch_accuracy(logits_refined[n_current:], REFINED).item()
    return out


# -- checkpoints ------------------------------------------------------------------------------


def state_to_checkpoint(state: TrainState, cfg: Config, data: dict[str, Any]) -> dict[str, Any]:
    rng = {"torch": torch.get_rng_state(), "data": state.data_generator.get_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "config": to_dict(cfg),
        "step": state.step,
        "phase": cfg.phase_at(state.step),
        "refiner": state.refiner.state_dict(),
        "discriminator": state.discriminator.state_dict(),
        "opt_refiner": state.opt_refiner.state_dict(),
        "opt_discriminator": state.opt_discriminator.state_dict(),
        "history": state.history.state_dict(),
        "rng": rng,
        "data": data,
    }


def restore_state(state: TrainState, ckpt: dict[str, Any]) -> None:
    state.refiner.load_state_dict(ckpt["refiner"])
    state.discriminator.load_state_dict(ckpt["discriminator"])
    state.opt_refiner.load_state_dict(ckpt["opt_refiner"])
    state.opt_discriminator.load_state_dict(ckpt["opt_discriminator"])
    state.history.load_state_dict(ckpt["history"])
    state.data_generator.set_state(ckpt["rng"]["data"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    if "cuda" in ckpt["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
    state.step = int(ckpt["step"])


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
            "run's own config (only train.steps and log.* may change), or start a new run"
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


def load_run_config(run_dir: str | Path) -> Config:
    """The config a run was trained with, from its last checkpoint."""
    ckpt = load_checkpoint(find_checkpoint(run_dir))
    return from_dict(Config, ckpt["config"])


# -- the loop ---------------------------------------------------------------------------------


class _StopFlag:
    """Ctrl-C sets a flag; the loop finishes its step, saves a checkpoint and stops."""

    def __init__(self) -> None:
        self.raised = False
        self._previous = None

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.raised:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def sample_grid(refiner: nn.Module, fixed: torch.Tensor, ncol: int = 8) -> Any:
    """synthetic | refined | 4x |difference| rows for a FIXED batch, as uint8 (H, W, C)."""
    was_training = refiner.training
    refiner.eval()
    with torch.no_grad():
        refined = refiner(fixed)
    refiner.train(was_training)
    syn, ref = to_uint8(fixed).cpu(), to_uint8(refined).cpu()
    diff = (syn.float() - ref.float()).abs().mul_(4).clamp_(0, 255).to(torch.uint8)
    rows = []
    for i in range(0, len(fixed), ncol):
        rows += [syn[i : i + ncol], ref[i : i + ncol], diff[i : i + ncol]]
    # pad short last rows so every row has ncol images
    rows = [
        torch.cat([r, torch.full((ncol - len(r), *r.shape[1:]), 255, dtype=torch.uint8)])
        if len(r) < ncol
        else r
        for r in rows
    ]
    images = torch.cat(rows).permute(0, 2, 3, 1).numpy()
    return make_grid(images, ncol=ncol)


def train(
    cfg: Config,
    synthetic_path: str | Path,
    real_path: str | Path,
    out_root: str | Path = "runs",
    *,
    resume: str | Path | None = None,
    dry_run: bool = False,
    echo: bool = True,
) -> Path | None:
    """Train a refiner; returns the run folder (None for a dry run)."""
    device = resolve_device(cfg.device)
    synthetic = ImageBank.from_file(synthetic_path)
    real = ImageBank.from_file(real_path)
    synthetic = check_compatible(synthetic, real, cfg.train.batch_size, cfg.train.resize)
    channels, height, width = real.shape
    data = {
        name: {"path": str(bank.path), "count": len(bank), "shape": list(bank.shape)}
        for name, bank in (("synthetic", synthetic), ("real", real))
    }
    state = build_state(cfg, channels, device)
    grid = state.discriminator.patch_grid(height, width)

    if dry_run:
        n_r = sum(p.numel() for p in state.refiner.parameters())
        n_d = sum(p.numel() for p in state.discriminator.parameters())
        print(dump_yaml(cfg).rstrip())
        print(f"non-defaults: {diff_from_defaults(cfg) or 'none'}")
        print(f"synthetic: {data['synthetic']}\nreal: {data['real']}")
        print(
            f"device {device}; refiner {n_r:,} parameters; discriminator {n_d:,} parameters, "
            f"{grid[0]}x{grid[1]} patches per image; {cfg.total_steps} steps"
        )
        print("dry run: nothing trained, no run folder created")
        return None

    if resume is not None:
        ckpt_path = find_checkpoint(resume)
        ckpt = load_checkpoint(ckpt_path, map_location=device)
        check_resume(cfg, ckpt, data, ckpt_path)
        restore_state(state, ckpt)
        run_dir = ckpt_path.parent.parent if Path(resume).is_file() else Path(resume)
    else:
        run_dir = new_run_dir(out_root, cfg.name)
    (run_dir / "config.yaml").write_text(dump_yaml(cfg))
    log = RunLog(run_dir, echo=echo)
    log.info(f"simgan {__version__}; run {run_dir}; device {device}")
    log.info(f"resumed at step {state.step}" if resume else "new run")
    for line in diff_from_defaults(cfg):
        log.info(f"  config {line}", echo=False)
    log.info(f"synthetic {data['synthetic']}; real {data['real']}; D patches {grid}")

    fixed = synthetic.images[: cfg.log.sample_count].to(device).float().div(127.5).sub(1)
    scale = auto_scale(height, width, target=128)
    if not (run_dir / "samples" / "real.png").exists():
        real_u8 = real.images[: cfg.log.sample_count].permute(0, 2, 3, 1).numpy()
        save_png(make_grid(real_u8), run_dir / "samples" / "real.png", scale=scale)

    def save(tag: str | None = None) -> None:
        ckpt = state_to_checkpoint(state, cfg, data)
        save_checkpoint(ckpt, run_dir / "checkpoints" / "last.pt")
        if tag:
            save_checkpoint(ckpt, run_dir / "checkpoints" / f"{tag}.pt")

    t, b = cfg.train, cfg.train.batch_size
    meters: dict[str, list[float]] = defaultdict(list)
    seen, t_last = 0, time.perf_counter()
    progress = _progress(cfg, state.step, echo)
    try:
        with _StopFlag() as stop:
            while state.step < cfg.total_steps:
                phase = cfg.phase_at(state.step)
                gen = state.data_generator
                if phase == "pretrain_refiner":
                    m = refiner_update(state, cfg, synthetic.sample(b, gen).to(device), False)
                    seen += b
                elif phase == "pretrain_discriminator":
                    syn, rl = synthetic.sample(b, gen).to(device), real.sample(b, gen).to(device)
                    m = discriminator_update(state, syn, rl)
                    seen += 2 * b
                else:
                    m = {}
                    for _ in range(t.k_g):
                        m.update(
                            refiner_update(state, cfg, synthetic.sample(b, gen).to(device), True)
                        )
                    for _ in range(t.k_d):
                        syn, rl = (
                            synthetic.sample(b, gen).to(device),
                            real.sample(b, gen).to(device),
                        )
                        m.update(discriminator_update(state, syn, rl))
                    seen += b * (t.k_g + 2 * t.k_d)
                bad = [k for k, v in m.items() if not math.isfinite(v)]
                if bad:
                    last = run_dir / "checkpoints" / "last.pt"
                    where = (
                        f"the last good checkpoint is {last}"
                        if last.exists()
                        else "no checkpoint was written yet"
                    )
                    raise SimganError(
                        f"{bad[0]} became {m[bad[0]]} at step {state.step} ({phase}); training "
                        f"stopped and {where}; lower optim.lr_* or raise loss.lambda_reg"
                    )
                state.step += 1
                for k, v in m.items():
                    meters[k].append(v)
                if progress is not None:
                    progress.update(1)
                    progress.set_postfix(
                        {k: f"{v:.3f}" for k, v in m.items() if "loss" in k or k.endswith("adv")},
                        refresh=False,
                    )
                end = state.step == cfg.total_steps
                if state.step % cfg.log.log_every == 0 or end:
                    now = time.perf_counter()
                    row = {
                        "step": state.step,
                        "phase": phase,
                        **{k: sum(v) / len(v) for k, v in meters.items()},
                        "lr_refiner": state.opt_refiner.param_groups[0]["lr"],
                        "lr_discriminator": state.opt_discriminator.param_groups[0]["lr"],
                        "history_filled": len(state.history),
                        "images_per_s": seen / max(now - t_last, 1e-9),
                    }
                    log.metrics(row)
                    meters.clear()
                    seen, t_last = 0, now
                if state.step % cfg.log.sample_every == 0 or end:
                    save_png(
                        sample_grid(state.refiner, fixed),
                        run_dir / "samples" / f"step_{state.step:07d}.png",
                        scale=scale,
                    )
                if state.step % cfg.log.checkpoint_every == 0 or end:
                    save(f"step_{state.step:07d}")
                if stop.raised:
                    save()
                    log.info(
                        f"interrupted: saved checkpoints/last.pt at step {state.step}; "
                        f"continue with --resume {run_dir}"
                    )
                    raise KeyboardInterrupt
        log.info(f"done: {state.step} steps; refiner in {run_dir / 'checkpoints' / 'last.pt'}")
    finally:
        if progress is not None:
            progress.close()
        log.close()
    return run_dir


def _progress(cfg: Config, start: int, echo: bool):
    if not (echo and cfg.log.progress):
        return None
    from tqdm import tqdm

    return tqdm(
        total=cfg.total_steps,
        initial=start,
        desc="train",
        unit="step",
        dynamic_ncols=True,
        leave=True,
    )
