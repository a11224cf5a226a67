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

The updates live in updates.py, the state in state.py, checkpoint contents in resume.py,
stop signals, metrics and the NaN guard in monitor.py, several processes (torchrun) in
distributed.py. Metrics stay on the device between log, sample and checkpoint steps, so on
a GPU the host never waits in between.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from simgan import __version__
from simgan.config import Config, diff_from_defaults, dump_yaml, from_dict, to_dict
from simgan.device import resolve_device
from simgan.errors import SimganError
from simgan.images import from_network, to_float
from simgan.models import patch_grid
from simgan.optional import need_tensorboard
from simgan.training import distributed as dist_
from simgan.training.batches import ImageBank, check_compatible
from simgan.training.checkpoint import (
    BEST_CHECKPOINT,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from simgan.training.estimate import plan_training
from simgan.training.label_model import label_name
from simgan.training.monitor import Monitor, NoLog, StopFlag
from simgan.training.resume import check_resume, rank_state, restore_state, state_to_checkpoint
from simgan.training.run_dir import RunLog, drop_metrics_after, new_run_dir
from simgan.training.selection import (
    build_selector,
    held_out_rows,
    selection_due,
    write_best_record,
)
from simgan.training.state import TrainState, build_state
from simgan.training.tensorboard import TensorBoardLog
from simgan.training.updates import adversarial_step, discriminator_update, refiner_update
from simgan.viz import auto_scale, make_grid, sample_grid, save_png


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
    # the label-consistency term needs the synthetic labels its model reads (gaze for a gaze
    # estimator, label for a digit classifier); otherwise no label is read
    label = label_name(cfg.loss.label_model) if cfg.loss.lambda_label > 0 else None
    synthetic = ImageBank.from_file(synthetic_path, shard=shard, label=label)
    real = ImageBank.from_file(real_path, shard=shard)
    synthetic = check_compatible(synthetic, real, cfg.train.batch_size, cfg.train.resize)
    if cfg.select.every:  # checkpoint selection scores on real training images D never sees
        rows = held_out_rows(real.file_count, cfg.select, cfg.seed, str(real_path))
        if real.file_count - len(rows) < cfg.train.batch_size:
            raise SimganError(
                f"{real_path}: {real.file_count} real images less select.held_out "
                f"{len(rows)} are fewer than the batch size {cfg.train.batch_size}; lower "
                "select.held_out or train.batch_size"
            )
        real = real.without_rows(rows)
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
    if cfg.log.tensorboard:
        need_tensorboard()  # the extra is missing: say so before reading any data
    synthetic, real = load_banks(cfg, synthetic_path, real_path, env)
    data = {
        name: {
            "path": os.path.abspath(bank.path),
            "count": bank.file_count,
            "shape": list(bank.shape),
        }
        for name, bank in (("synthetic", synthetic), ("real", real))
    }
    if cfg.select.every:
        data["real"]["held_out"] = cfg.select.held_out
    if dry_run:
        if resume is not None:  # a dry run of a resume refuses what the resume would refuse
            ckpt_path = find_checkpoint(resume)
            check_resume(cfg, _load_for_resume(ckpt_path), data, ckpt_path)
        if env.is_main:
            _dry_run(cfg, data, *real.shape, env, banks={"synthetic": synthetic, "real": real})
        return None
    env, device = dist_.setup(resolve_device(cfg.device))
    try:
        # CPU threads and the expected duration, measured before any step that counts
        say = print if echo and env.is_main else None
        banks = {"synthetic": synthetic, "real": real}
        plan = plan_training(
            cfg, *real.shape, device, world_size=env.world_size, banks=banks, say=say
        )
        return _train(
            cfg, synthetic, real, data, out_root, resume, echo, env, device, notes=plan.lines
        )
    finally:
        dist_.teardown(env)


def _train(cfg, synthetic, real, data, out_root, resume, echo, env, device, notes=None) -> Path:
    """notes(step) -> lines logged after the opening lines (threads, expected duration)."""
    perf, t = cfg.perf, cfg.train
    synthetic = synthetic.to(device, on_device=perf.data_on_device, pin_memory=perf.pin_memory)
    real = real.to(device, on_device=perf.data_on_device, pin_memory=perf.pin_memory)
    state = build_state(cfg, real.shape[0], device, dist_env=env)
    run_dir, saved_world = _open_run(cfg, state, data, out_root, resume, env)
    # a resume replays the steps after its checkpoint: their rows from before go, else they
    # would appear twice (before RunLog opens the file to append)
    dropped = drop_metrics_after(run_dir, state.step) if resume and env.is_main else 0
    log = _open_log(cfg, run_dir, echo, env, state.step if resume else None)
    _log_start(cfg, state, log, run_dir, data, real.shape, resume, saved_world, env, dropped)
    for line in notes(state.step) if notes else ():
        log.info(line)
    start = state.step
    b = t.batch_size // env.world_size  # this rank's share of the global batch
    fixed = to_float(synthetic.images[: cfg.log.sample_count].to(device))  # for sample grids
    scale = _save_real_grid(cfg, real, run_dir, env)

    def draw(bank: ImageBank) -> torch.Tensor:  # (b, C, H, W) in [-1, 1] on the device
        return bank.sample(b, state.data_generator, device, state.channels_last)

    def draw_synthetic():  # images, or (images, labels) for the label-consistency term
        if synthetic.labels is None:
            return draw(synthetic)
        return synthetic.sample_labeled(b, state.data_generator, device, state.channels_last)

    selector = None
    if cfg.select.every and env.is_main:
        rows = held_out_rows(real.file_count, cfg.select, cfg.seed, real.path)
        selector = build_selector(cfg, real.path, rows, synthetic.images, device)
        selector.load_state_dict(state.selection)
    monitor = Monitor(cfg, state, env, log, run_dir, echo)
    try:
        with StopFlag(repeat_stops=not env.enabled) as stop:
            while state.step < cfg.total_steps:
                phase = cfg.phase_at(state.step)
                # 1. pretrain R on self-regularization alone, so it starts at the identity
                if phase == "pretrain_refiner":
                    m = refiner_update(state, cfg, draw(synthetic), False, sync=False)
                    images = b
                # 2. pretrain D on real vs refined images, R fixed
                elif phase == "pretrain_discriminator":
                    syn, rl = draw(synthetic), draw(real)  # this order: resume replays it
                    m = discriminator_update(state, syn, rl, cfg=cfg, sync=False)
                    images = 2 * b
                # 3. Algorithm 1: K_g updates of R, then K_d of D with the history buffer
                else:
                    m = adversarial_step(state, cfg, draw_synthetic, lambda: draw(real), sync=False)
                    images = b * (t.k_g + 2 * t.k_d)
                state.step += 1

                # bookkeeping: NaN guard and log row, then sample grid, checkpoint, stop
                due = monitor.after_step(phase, m, images, stop.raised)
                if due.sample and env.is_main:
                    _save_samples(state, fixed, cfg.log.sample_count, run_dir, scale, log)
                best = _select(state, selector, phase, cfg, log, env)
                if due.save or due.stopping or best:
                    tag = f"step_{state.step:07d}" if due.save else None
                    _save(state, cfg, data, run_dir, env, tag, best=best)
                    if best and env.is_main:
                        write_best_record(run_dir, selector, cfg.select.held_out)
                if due.stopping:
                    monitor.close()  # end the bar's line before the message
                    log.info(
                        f"interrupted: saved checkpoints/last.pt at step {state.step}; "
                        f"continue with --resume {run_dir}"
                    )
                    raise KeyboardInterrupt
        monitor.close()  # end the bar's line before the message
        last = run_dir / "checkpoints" / "last.pt"
        if cfg.total_steps == 0 and resume is None:
            # nothing to train (every step count is 0): still a complete run folder, whose
            # untrained refiner refines, exports and resumes like any other
            _save(state, cfg, data, run_dir, env, None)
            log.info(f"done: 0 steps (every step count is 0), untrained refiner in {last}")
        elif state.step == start:
            log.info(f"done: already at step {state.step}, nothing to train; refiner in {last}")
        else:
            log.info(f"done: {state.step} steps; refiner in {last}")
        if selector is not None and selector.best_step >= 0:
            log.info(
                f"best checkpoint (select.metric {selector.metric} on "
                f"{cfg.select.held_out} held-out real training images): step "
                f"{selector.best_step}, {selector.metric} {selector.best_score:.5g}; in "
                f"{run_dir / 'checkpoints' / BEST_CHECKPOINT}, used by refine, eval and export"
            )
        log.info(f"history buffer (this process): {state.history.stats()}", echo=False)
    finally:
        monitor.close()
        log.close()
    return run_dir


def _open_log(cfg: Config, run_dir: Path, echo: bool, env, resumed_at: int | None):
    """log.txt and metrics.jsonl (rank 0), with TensorBoard events when log.tensorboard;
    a resume at step k hides the events the earlier session wrote after k."""
    if not env.is_main:
        return NoLog()
    board = None
    if cfg.log.tensorboard:
        board = TensorBoardLog(run_dir, None if resumed_at is None else resumed_at + 1)
    return RunLog(run_dir, echo=echo, board=board)


def _open_run(
    cfg: Config, state: TrainState, data: dict, out_root, resume, env: dist_.DistEnv
) -> tuple[Path, int]:
    """(run folder, world size the checkpoint was written by): restored from `resume`, or
    a new numbered folder (chosen by rank 0, told to every rank)."""
    if resume is None:
        name = str(new_run_dir(out_root, cfg.name)) if env.is_main else None
        return Path(dist_.broadcast(name, env)), env.world_size
    ckpt_path = find_checkpoint(resume)
    ckpt = _load_for_resume(ckpt_path)  # on the CPU; each part moves to its place
    check_resume(cfg, ckpt, data, ckpt_path)
    restore_state(state, ckpt, rank=env.rank, world_size=env.world_size)
    run_dir = ckpt_path.parent.parent if Path(resume).is_file() else Path(resume)
    return run_dir, int(ckpt.get("world_size", 1))


def _load_for_resume(path: Path) -> dict:
    """The checkpoint with its config completed by the defaults of keys added since it was
    written (every new option defaults to the old behaviour), so adding an option does not
    make check_resume refuse the runs written before it."""
    ckpt = load_checkpoint(path)
    ckpt["config"] = to_dict(from_dict(Config, ckpt["config"], str(path)))
    return ckpt


def _log_start(cfg, state, log, run_dir, data, shape, resume, saved_world, env, dropped) -> None:
    """config.yaml and the opening lines of log.txt (`dropped`: metrics.jsonl lines removed
    at resume)."""
    if env.is_main:
        (run_dir / "config.yaml").write_text(dump_yaml(cfg))
    grid = patch_grid(cfg.model.discriminator, *shape[1:])
    log.info(f"simgan {__version__}; run {run_dir}; device {state.device}")
    log.info(f"resumed at step {state.step}" if resume else "new run")
    if dropped:
        log.info(
            f"metrics.jsonl: dropped {dropped} line(s) written after that checkpoint "
            "(those steps run again)",
            echo=False,
        )
    if saved_world != env.world_size:
        log.info(
            f"the checkpoint was written by {saved_world} process(es), this run has "
            f"{env.world_size}: history buffers re-split, training continues (not bit for bit)"
        )
    for line in diff_from_defaults(cfg):
        log.info(f"  config {line}", echo=False)
    log.info(f"synthetic {data['synthetic']}; real {data['real']}; D patches {grid}")
    perf = cfg.perf
    log.info(
        f"{env.world_size} process(es) x {cfg.train.batch_size // env.world_size} images per "
        f"update; autocast {state.amp_dtype or 'off'}; channels_last {perf.channels_last}; "
        f"compile {perf.compile}",
        echo=False,
    )


def _save_real_grid(cfg: Config, real: ImageBank, run_dir: Path, env: dist_.DistEnv) -> int:
    """samples/real.png (once per run); returns the zoom used for every sample grid."""
    scale = auto_scale(*real.shape[1:], target=128)
    if env.is_main and not (run_dir / "samples" / "real.png").exists():
        real_u8 = real.images[: cfg.log.sample_count].permute(0, 2, 3, 1).cpu().numpy()
        save_png(make_grid(real_u8), run_dir / "samples" / "real.png", scale=scale)
    return scale


def _save_samples(
    state: TrainState, fixed, count: int, run_dir: Path, scale: int, log: RunLog
) -> None:
    """samples/step_N.png (synthetic | refined | difference of the FIXED batch) and, once
    the buffer holds images, samples/history_step_N.png (what D sees besides the current R).
    The history draw uses the buffer's own generator: training draws are unchanged."""
    step = f"step_{state.step:07d}"
    # A refiner with noise channels draws from the global RNG, which training's own draws
    # (and exact resume) depend on: the grid draws in a forked RNG with a fixed seed, so
    # every grid sees the same noise and training the same generator state.
    devices = list(range(torch.cuda.device_count())) if state.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        grid = sample_grid(state.refiner, fixed)
    save_png(grid, run_dir / "samples" / f"{step}.png", scale=scale)
    log.image("samples/synthetic_refined_difference", grid, state.step)
    if len(state.history):
        history = make_grid(from_network(state.history.sample(count)))
        save_png(history, run_dir / "samples" / f"history_{step}.png", scale=scale)
        log.image("samples/history", history, state.step)


def _select(state: TrainState, selector, phase: str, cfg: Config, log, env) -> bool:
    """Score the refiner when selection is due (rank 0); True on every rank when it is the
    best so far (then the caller saves checkpoints/best.pt)."""
    if not selection_due(cfg, state.step, phase):
        return False
    best = False
    if selector is not None:  # rank 0
        value = selector.score(state.refiner)
        best = selector.update(state.step, value)
        state.selection = selector.state_dict()
        log.metrics({"step": state.step, "phase": phase, f"select_{selector.metric}": value})
        if best:
            log.info(f"step {state.step}: select {selector.metric} {value:.5g} (best so far)")
    return bool(dist_.broadcast(best, env))


def _save(
    state: TrainState,
    cfg: Config,
    data: dict,
    run_dir: Path,
    env,
    tag: str | None,
    *,
    best: bool = False,
):
    """checkpoints/last.pt (and checkpoints/<tag>.pt when a tag is given, best.pt when
    `best`): every rank sends its buffer and generators, rank 0 writes one file."""
    others = dist_.gather_to_main(rank_state(state), env) if env.enabled else None
    if env.is_main:
        ckpt = state_to_checkpoint(state, cfg, data, other_ranks=(others or [None])[1:])
        save_checkpoint(ckpt, run_dir / "checkpoints" / "last.pt")
        if tag:
            save_checkpoint(ckpt, run_dir / "checkpoints" / f"{tag}.pt")
        if best:
            save_checkpoint(ckpt, run_dir / "checkpoints" / BEST_CHECKPOINT)
    dist_.barrier(env)


def _dry_run(
    cfg: Config, data: dict, channels: int, height: int, width: int, env, banks=None
) -> None:
    """Print the resolved config, the inputs, the sizes, the threads and the expected
    duration (timed on throwaway networks and the banks); train nothing."""
    state = build_state(cfg, channels, torch.device("cpu"))
    grid = patch_grid(cfg.model.discriminator, height, width)
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
    threads = torch.get_num_threads()
    try:
        device = resolve_device(cfg.device)
        plan = plan_training(
            cfg, channels, height, width, device, world_size=env.world_size, banks=banks, say=print
        )
    finally:
        torch.set_num_threads(threads)  # a dry run leaves the process's threads as they were
    for line in plan.lines():
        print(line)
    print("dry run: nothing trained, no run folder created")
