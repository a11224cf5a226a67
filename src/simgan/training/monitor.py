"""What the training loop does around the algorithm: stop signals, metrics, the NaN guard,
log rows, progress and the collapse warning.

`Monitor.after_step` is called once per step; it records the step's metrics, checks them
for non-finite values (every step on the CPU, where reading back is free, else only at the
steps that write something), agrees with the other ranks whether to stop, writes the log
row when one is due, and says which of sample / checkpoint / stop are due now. At a log row
of the adversarial phase it also warns, once per run, when the refined images have
collapsed: they hardly vary over a batch any more (every image the same, e.g. all black),
while the synthetic images they came from do (`batch_variety`, logged as refined_variety).
Training goes on; the warning names the fix.

Progress goes to stderr in the form that suits it: a tqdm bar on a terminal; in a file or a
pipe (a log a person reads later) plain lines instead, one at a log row (every
log.log_every steps) at most every PLAIN_EVERY_S seconds, and always at the first row, the
first row of each phase and the last step, e.g.
    step 1200/1750 adversarial  refiner_loss 0.861 d_loss 1.367 d_acc_real 0.52
        d_acc_refined 0.47  412 img/s  2m10s left  (on one line)
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from simgan.config import Config
from simgan.errors import SimganError
from simgan.training import distributed as dist_
from simgan.training.state import TrainState


class StopFlag:
    """Ctrl-C (or SIGTERM) sets a flag; the loop finishes its step, saves a checkpoint and
    stops. A second signal stops at once, except under torchrun, which forwards the user's
    Ctrl-C once more to every worker (and kills them itself if they do not stop)."""

    def __init__(self, repeat_stops: bool = True) -> None:
        self.raised = False
        self.repeat_stops = repeat_stops
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
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


class Meters:
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


class NoLog:
    """RunLog's interface for ranks other than 0, which write nothing."""

    def info(self, message: str, echo: bool = True) -> None:
        pass

    def metrics(self, row: dict[str, Any]) -> None:
        pass

    def image(self, tag: str, image: Any, step: int) -> None:
        pass

    def close(self) -> None:
        pass


# Below this refined_variety (the refined batch varies less than a fifth as much as the
# synthetic batch it came from) the refiner has collapsed; a refiner that keeps its input
# stays near 1.
COLLAPSE_VARIETY = 0.2


def batch_variety(refined: torch.Tensor, synthetic: torch.Tensor) -> torch.Tensor:
    """How much the refined images vary over the batch, as a share of how the synthetic
    images they came from vary: the per-pixel standard deviation over the batch, averaged
    over pixels, of refined over synthetic (a 0-d tensor, no gradient). About 1 for a refiner
    that keeps its input, near 0 when every refined image is the same; 1 for a batch of one
    or a batch of identical synthetic images, which cannot tell."""
    if len(refined) < 2:
        return torch.ones((), device=refined.device)
    with torch.no_grad():
        spread_refined = refined.float().std(dim=0, unbiased=False).mean()
        spread_synthetic = synthetic.float().std(dim=0, unbiased=False).mean()
        return (spread_refined + 1e-6) / (spread_synthetic + 1e-6)


def collapse_warning(step: int, variety: float) -> str:
    return (
        f"warning: step {step}: the refined images have collapsed: they vary over a batch "
        f"{variety:.0%} as much as the synthetic images they came from (a refiner that keeps "
        f"its input: about 100%); the refiner no longer keeps its input. Raise "
        f"loss.lambda_reg or lower optim.lr_refiner, and set select.every so a checkpoint "
        f"from before the collapse is kept"
    )


def raise_non_finite(bad: tuple[str, float, int, str] | None, step: int, run_dir: Path):
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


@dataclass
class Due:
    """What is due after a step: a sample grid, a checkpoint, and whether to stop."""

    sample: bool
    save: bool
    stopping: bool


class Monitor:
    """Metrics, NaN guard, log rows and progress of one training run (see the module doc)."""

    def __init__(
        self,
        cfg: Config,
        state: TrainState,
        env: dist_.DistEnv,
        log: Any,
        run_dir: Path,
        echo: bool,
    ) -> None:
        self.cfg, self.state, self.env, self.log, self.run_dir = cfg, state, env, log, run_dir
        self.meters = Meters()
        self.echo = echo and env.is_main
        self.collapsed_at: int | None = None  # the step of the collapse warning, once
        self.seen, self.t_last = 0, time.perf_counter()  # images since the last log row
        show = echo and env.is_main and cfg.log.progress
        self.progress: tqdm | None = None  # the bar, on a terminal
        self.lines: ProgressLines | None = None  # plain lines, in a file or a pipe
        if show and sys.stderr.isatty():
            self.progress = tqdm(
                total=cfg.total_steps,
                initial=state.step,
                desc="train",
                unit="step",
                dynamic_ncols=True,
                leave=True,
                file=sys.stderr,
            )
        elif show:
            self.lines = ProgressLines(cfg, state.step)

    def after_step(self, phase: str, metrics: dict[str, Any], images: int, stop: bool) -> Due:
        """Record the step just taken (`images` images went through the networks on this rank);
        raise SimganError if a loss became non-finite on any rank."""
        step, env, every = self.state.step, self.env, self.cfg.log
        self.meters.add(step, phase, metrics)
        self.seen += images
        if self.progress is not None:
            self.progress.update(1)
        end = step == self.cfg.total_steps
        do_log = step % every.log_every == 0 or end
        do_sample = step % every.sample_every == 0 or end
        do_save = step % every.checkpoint_every == 0 or end
        # Non-finite losses are caught before anything is written from them: every step on
        # the CPU, where reading them back is free, else at these steps.
        check = do_log or do_sample or do_save or self.state.device.type == "cpu"
        bad = self.meters.check() if check else None
        stopping, bad_anywhere = dist_.any_flag([stop, bad is not None], env)
        if stopping and not check:
            bad = self.meters.check()
            (bad_anywhere,) = dist_.any_flag([bad is not None], env)
        if bad_anywhere:
            raise_non_finite(bad, step, self.run_dir)
        if do_log:
            self._log_row(step, phase)
        return Due(sample=do_sample, save=do_save, stopping=stopping)

    def _log_row(self, step: int, phase: str) -> None:
        now, env, state = time.perf_counter(), self.env, self.state
        means = dist_.mean_over_ranks(self.meters.means(), env)
        self.log.metrics(
            {
                "step": step,
                "phase": phase,
                **means,
                "lr_refiner": state.opt_refiner.param_groups[0]["lr"],
                "lr_discriminator": state.opt_discriminator.param_groups[0]["lr"],
                "history_filled": int(dist_.sum_over_ranks(len(state.history), env)),
                "images_per_s": self.seen * env.world_size / max(now - self.t_last, 1e-9),
            }
        )
        if self.progress is not None:
            losses = {k: f"{v:.3f}" for k, v in means.items() if "loss" in k or k.endswith("adv")}
            self.progress.set_postfix(losses, refresh=False)
        if self.lines is not None:
            self.lines.row(step, phase, means, now)
        self.seen, self.t_last = 0, now
        self._check_collapse(step, phase, means)

    def _check_collapse(self, step: int, phase: str, means: dict[str, float]) -> None:
        """Warn (log.txt, and stderr when echoing) the first time the refined images of a
        log row's adversarial steps have collapsed (see COLLAPSE_VARIETY). Not while R
        pretrains: a fresh refiner is not yet the identity."""
        variety = means.get("refined_variety")
        if self.collapsed_at is not None or phase != "adversarial" or variety is None:
            return
        if variety >= COLLAPSE_VARIETY:  # the refiner still keeps its input
            return
        self.collapsed_at = step
        message = collapse_warning(step, variety)
        self.log.info(message, echo=False)
        if self.echo:
            tqdm.write(message, file=sys.stderr)  # above the bar, if there is one

    def close(self) -> None:
        """End the progress output (the bar's line is finished, so what is printed next
        starts a line of its own); safe to call more than once."""
        if self.progress is not None:
            self.progress.close()
        self.progress = self.lines = None


# At most one plain progress line per this many seconds (besides the first row, phase starts
# and the last step): a readable log of a long run, a few lines a minute.
PLAIN_EVERY_S = 10.0

# The metrics a plain progress line shows, in this order, where the phase has them.
LINE_KEYS = ("refiner_loss", "d_loss", "d_acc_real", "d_acc_refined")


def images_until(cfg: Config, step: int) -> int:
    """Images the networks take in (over all ranks) from step 0 to `step`: a batch per step
    of pretraining R, two (synthetic and real) per step of pretraining D, and K_g + 2 K_d
    per adversarial step. Time left is what remains of this at the recent rate."""
    t = cfg.train
    refiner = min(step, t.pretrain_refiner_steps)
    discriminator = min(max(step - t.pretrain_refiner_steps, 0), t.pretrain_discriminator_steps)
    adversarial = max(step - t.pretrain_refiner_steps - t.pretrain_discriminator_steps, 0)
    return t.batch_size * (refiner + 2 * discriminator + (t.k_g + 2 * t.k_d) * adversarial)


def format_duration(seconds: float) -> str:
    """45s, 2m10s, 1h05m."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class ProgressLines:
    """Plain progress lines on stderr, for a file or a pipe (see the module doc)."""

    def __init__(self, cfg: Config, step: int) -> None:
        self.cfg = cfg
        self.t_start = self.t_last = time.perf_counter()
        self.step_last = step  # step and time of the previous line (or of the start)
        self.phase_last: str | None = None

    def row(self, step: int, phase: str, means: dict[str, float], now: float) -> None:
        """Print a line for this log row if one is due."""
        end = step == self.cfg.total_steps
        if not (end or phase != self.phase_last or now - self.t_last >= PLAIN_EVERY_S):
            return
        print(self.line(step, phase, means, now), file=sys.stderr, flush=True)
        self.t_last, self.step_last, self.phase_last = now, step, phase

    def line(self, step: int, phase: str, means: dict[str, float], now: float) -> str:
        """`step 1200/1750 adversarial  refiner_loss 0.861 ...  412 img/s  2m10s left`."""
        cfg = self.cfg
        done = images_until(cfg, step) - images_until(cfg, self.step_last)
        rate = done / max(now - self.t_last, 1e-9)
        if step == cfg.total_steps:
            when = f"done in {format_duration(now - self.t_start)}"
        else:
            left = images_until(cfg, cfg.total_steps) - images_until(cfg, step)
            when = f"{format_duration(left / max(rate, 1e-9))} left"
        values = " ".join(
            f"{k} {means[k]:.2f}" if k.startswith("d_acc") else f"{k} {means[k]:.3f}"
            for k in LINE_KEYS
            if k in means
        )
        return f"step {step}/{cfg.total_steps} {phase}  {values}  {rate:.0f} img/s  {when}"
