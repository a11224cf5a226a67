"""The SimGAN training loop (Shrivastava et al. 2017, Algorithm 1).

Phases, in order, over one global step counter (the phase is derived from the step):
  1. pretrain_refiner       R learns the self-regularization loss alone (R(x) ~ x)
  2. pretrain_discriminator D learns real vs refined with R fixed
  3. adversarial            each step: K_g refiner updates (D fixed), then K_d discriminator
                            updates (R fixed) on real images and refined images drawn half
                            from the current R and half from the history buffer
Every random draw comes from generators saved in the checkpoint, so resuming at step k and
training to N gives exactly the weights of an uninterrupted run to N (with the same number
of processes and the same perf settings).

The updates themselves live in updates.py, checkpoint state in resume.py, and several
processes (torchrun) in distributed.py; this file reads data, runs the schedule, logs,
draws samples and saves checkpoints. Metrics stay on the device between log, sample and
checkpoint steps, so on a GPU the host never waits in between.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from simgan import __version__
from simgan import distributed as dist_
from simgan.batches import ImageBank, check_compatible, to_uint8
from simgan.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint
from simgan.config import Config, diff_from_defaults, dump_yaml
from simgan.errors import SimganError
from simgan.resume import (  # noqa: F401  (public names, re-exported)
    RESUMABLE_CHANGES,
    check_resume,
    load_run_config,
    rank_state,
    restore_state,
    state_to_checkpoint,
)
from simgan.run_dir import RunLog, new_run_dir
from simgan.updates import (  # noqa: F401  (public names, re-exported)
    TrainState,
    adversarial_step,
    build_state,
    discriminator_update,
    make_optimizer,
    refiner_update,
    resolve_amp,
    resolve_device,
)
from simgan.viz import auto_scale, make_grid, save_png


class _StopFlag:
    """Ctrl-C (or SIGTERM) sets a flag; the loop finishes its step, saves a checkpoint and
    stops. A second signal stops at once, except under torchrun, which forwards the user's
    Ctrl-C once more to every worker (and kills them itself if they do not stop)."""

    def __init__(self, repeat_stops: bool = True) -> None:
        self.raised = False
        self.repeat_stops = repeat_stops
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.raised and self.repeat_stops:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


class _Meters:
    """Per-step metrics as device tensors; read back (one sync) only when checked or logged."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, dict[str, Any]]] = []  # (step, phase, metrics)
        self.values: list[dict[str, float]] = []  # rows read back so far, as floats

    def add(self, step: int, phase: str, metrics: dict[str, Any]) -> None:
        self.rows.append((step, phase, metrics))

    def check(self) -> tuple[str, float, int, str] | None:
        """Read back the new rows; (key, value, step, phase) of the first non-finite one."""
        new = self.rows[len(self.values) :]
        if not new:
            return None
        values = [v for _, _, m in new for v in m.values()]
        dev = next((v.device for v in values if isinstance(v, torch.Tensor)), "cpu")
        # stacked where they are, then one copy to the host
        flat = torch.stack(
            [torch.as_tensor(v, device=dev).detach().float().reshape(()) for v in values]
        ).tolist()
        bad, i = None, 0
        for step, phase, m in new:
            row = dict(zip(m, flat[i : i + len(m)], strict=True))
            i += len(m)
            self.values.append(row)
            key = next((k for k, v in row.items() if not math.isfinite(v)), None)
            if key is not None and bad is None:
                bad = (key, row[key], step, phase)
        return bad

    def means(self) -> dict[str, float]:
        """Mean of every key over the rows since the last call; clears them."""
        self.check()
        sums: dict[str, list[float]] = defaultdict(list)
        for row in self.values:
            for k, v in row.items():
                sums[k].append(v)
        self.rows, self.values = [], []
        return {k: sum(v) / len(v) for k, v in sums.items()}


class _NoLog:
    """RunLog's interface for ranks other than 0, which write nothing."""

    def info(self, message: str, echo: bool = True) -> None:
        pass

    def metrics(self, row: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


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


def load_banks(
    cfg: Config,
    synthetic_path: str | Path,
    real_path: str | Path,
    env: dist_.DistEnv,
) -> tuple[ImageBank, ImageBank]:
    """This rank's shards of both domains (everything for one process), checked."""
    if cfg.train.batch_size % env.world_size:
        raise SimganError(
            f"train.batch_size {cfg.train.batch_size} is the global batch and must split "
            f"evenly over {env.world_size} processes; use a multiple of {env.world_size}"
        )
    shard = (env.rank, env.world_size)
    synthetic = ImageBank.from_file(synthetic_path, shard=shard)
    real = ImageBank.from_file(real_path, shard=shard)
    synthetic = check_compatible(synthetic, real, cfg.train.batch_size, cfg.train.resize)
    return synthetic, real


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
    """Train a refiner; returns the run folder (None for a dry run).

    Under torchrun (RANK / WORLD_SIZE set) every process calls this with the same arguments;
    rank 0 writes the run folder, every rank returns its path."""
    env = dist_.env_from_torchrun()
    synthetic, real = load_banks(cfg, synthetic_path, real_path, env)
    channels, height, width = real.shape
    data = {
        name: {"path": str(bank.path), "count": bank.file_count, "shape": list(bank.shape)}
        for name, bank in (("synthetic", synthetic), ("real", real))
    }
    if dry_run:
        if env.is_main:
            _dry_run(cfg, data, channels, height, width, env)
        return None
    if cfg.perf.threads > 0:
        torch.set_num_threads(cfg.perf.threads)
    env, device = dist_.setup(resolve_device(cfg.device))
    try:
        return _train(cfg, synthetic, real, data, out_root, resume, echo, env, device)
    finally:
        dist_.teardown(env)


def _dry_run(cfg: Config, data: dict, channels: int, height: int, width: int, env) -> None:
    state = build_state(cfg, channels, torch.device("cpu"))
    grid = state.discriminator.patch_grid(height, width)
    n_r = sum(p.numel() for p in state.refiner.parameters())
    n_d = sum(p.numel() for p in state.discriminator.parameters())
    print(dump_yaml(cfg).rstrip())
    print(f"non-defaults: {diff_from_defaults(cfg) or 'none'}")
    print(f"synthetic: {data['synthetic']}\nreal: {data['real']}")
    print(
        f"device {resolve_device(cfg.device)}; refiner {n_r:,} parameters; discriminator "
        f"{n_d:,} parameters, {grid[0]}x{grid[1]} patches per image; {cfg.total_steps} steps; "
        f"{env.world_size} process(es) x {cfg.train.batch_size // env.world_size} images; "
        f"autocast {state.amp_dtype or 'off'}"
    )
    print("dry run: nothing trained, no run folder created")


def _train(cfg, synthetic, real, data, out_root, resume, echo, env, device) -> Path:
    _, height, width = real.shape
    perf = cfg.perf
    synthetic = synthetic.to(device, on_device=perf.data_on_device, pin_memory=perf.pin_memory)
    real = real.to(device, on_device=perf.data_on_device, pin_memory=perf.pin_memory)
    state = build_state(cfg, real.shape[0], device, dist_env=env)
    grid = state.discriminator.patch_grid(height, width)

    saved_world = env.world_size
    if resume is not None:
        ckpt_path = find_checkpoint(resume)
        ckpt = load_checkpoint(ckpt_path)  # on the CPU; each part moves to its place
        check_resume(cfg, ckpt, data, ckpt_path)
        saved_world = int(ckpt.get("world_size", 1))
        restore_state(state, ckpt, rank=env.rank, world_size=env.world_size)
        del ckpt
        run_dir = ckpt_path.parent.parent if Path(resume).is_file() else Path(resume)
    else:
        run_dir = Path(
            dist_.broadcast(str(new_run_dir(out_root, cfg.name)) if env.is_main else None, env)
        )
    log = RunLog(run_dir, echo=echo) if env.is_main else _NoLog()
    if env.is_main:
        (run_dir / "config.yaml").write_text(dump_yaml(cfg))
    log.info(f"simgan {__version__}; run {run_dir}; device {device}")
    log.info(f"resumed at step {state.step}" if resume else "new run")
    if saved_world != env.world_size:
        log.info(
            f"the checkpoint was written by {saved_world} process(es), this run has "
            f"{env.world_size}: history buffers re-split, training continues (not bit for bit)"
        )
    for line in diff_from_defaults(cfg):
        log.info(f"  config {line}", echo=False)
    log.info(f"synthetic {data['synthetic']}; real {data['real']}; D patches {grid}")
    b = cfg.train.batch_size // env.world_size  # this rank's share of the global batch
    log.info(
        f"{env.world_size} process(es) x {b} images per update; autocast "
        f"{state.amp_dtype or 'off'}; channels_last {perf.channels_last}; compile {perf.compile}",
        echo=False,
    )

    fixed = synthetic.images[: cfg.log.sample_count].to(device).float().div(127.5).sub(1)
    scale = auto_scale(height, width, target=128)
    if env.is_main and not (run_dir / "samples" / "real.png").exists():
        real_u8 = real.images[: cfg.log.sample_count].permute(0, 2, 3, 1).cpu().numpy()
        save_png(make_grid(real_u8), run_dir / "samples" / "real.png", scale=scale)

    def save(tag: str | None = None) -> None:
        # every rank sends its buffer and generators; rank 0 writes one file
        others = dist_.gather_to_main(rank_state(state), env) if env.enabled else None
        if env.is_main:
            ckpt = state_to_checkpoint(state, cfg, data, other_ranks=(others or [None])[1:])
            save_checkpoint(ckpt, run_dir / "checkpoints" / "last.pt")
            if tag:
                save_checkpoint(ckpt, run_dir / "checkpoints" / f"{tag}.pt")
        dist_.barrier(env)

    def draw(bank: ImageBank) -> torch.Tensor:  # (b, C, H, W) in [-1, 1] on the device
        return bank.sample(b, state.data_generator, device, state.channels_last)

    t = cfg.train
    meters = _Meters()
    seen, t_last = 0, time.perf_counter()
    progress = _progress(cfg, state.step, echo and env.is_main)
    try:
        with _StopFlag(repeat_stops=not env.enabled) as stop:
            while state.step < cfg.total_steps:
                phase = cfg.phase_at(state.step)
                if phase == "pretrain_refiner":
                    m = refiner_update(state, cfg, draw(synthetic), False, sync=False)
                    seen += b
                elif phase == "pretrain_discriminator":
                    syn, rl = draw(synthetic), draw(real)  # this order: resume replays it
                    m = discriminator_update(state, syn, rl, sync=False)
                    seen += 2 * b
                else:
                    m = adversarial_step(
                        state, cfg, lambda: draw(synthetic), lambda: draw(real), sync=False
                    )
                    seen += b * (t.k_g + 2 * t.k_d)
                state.step += 1
                meters.add(state.step, phase, m)
                if progress is not None:
                    progress.update(1)
                end = state.step == cfg.total_steps
                do_log = state.step % cfg.log.log_every == 0 or end
                do_sample = state.step % cfg.log.sample_every == 0 or end
                do_save = state.step % cfg.log.checkpoint_every == 0 or end
                # Non-finite losses are caught before anything is written from them: every
                # step on the CPU, where reading them back is free, else at these steps.
                check = do_log or do_sample or do_save or device.type == "cpu"
                bad = meters.check() if check else None
                stopping, bad_anywhere = dist_.any_flag([stop.raised, bad is not None], env)
                if stopping and not check:
                    bad = meters.check()
                    (bad_anywhere,) = dist_.any_flag([bad is not None], env)
                if bad_anywhere:
                    _raise_non_finite(bad, state.step, run_dir)
                if do_log:
                    now = time.perf_counter()
                    means = dist_.mean_over_ranks(meters.means(), env)
                    row = {
                        "step": state.step,
                        "phase": phase,
                        **means,
                        "lr_refiner": state.opt_refiner.param_groups[0]["lr"],
                        "lr_discriminator": state.opt_discriminator.param_groups[0]["lr"],
                        "history_filled": int(dist_.sum_over_ranks(len(state.history), env)),
                        "images_per_s": seen * env.world_size / max(now - t_last, 1e-9),
                    }
                    log.metrics(row)
                    if progress is not None:
                        progress.set_postfix(
                            {
                                k: f"{v:.3f}"
                                for k, v in means.items()
                                if "loss" in k or k.endswith("adv")
                            },
                            refresh=False,
                        )
                    seen, t_last = 0, now
                if do_sample and env.is_main:
                    save_png(
                        sample_grid(state.refiner, fixed),
                        run_dir / "samples" / f"step_{state.step:07d}.png",
                        scale=scale,
                    )
                if do_save:
                    save(f"step_{state.step:07d}")
                if stopping:
                    if not do_save:
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


def _raise_non_finite(bad: tuple[str, float, int, str] | None, step: int, run_dir: Path):
    last = run_dir / "checkpoints" / "last.pt"
    where = (
        f"the last good checkpoint is {last}"
        if last.exists()
        else ("no checkpoint was written yet")
    )
    what = (
        f"{bad[0]} became {bad[1]} at step {bad[2]} ({bad[3]})"
        if bad is not None
        else f"a loss became nan or inf on another process by step {step}"
    )
    raise SimganError(
        f"{what}; training stopped and {where}; lower optim.lr_* or raise loss.lambda_reg"
    )


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
