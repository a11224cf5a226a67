"""What the training loop does around the algorithm: stop signals, metrics, the NaN guard,
log rows and the progress bar.

`Monitor.after_step` is called once per step; it records the step's metrics, checks them
for non-finite values (every step on the CPU, where reading back is free, else only at the
steps that write something), agrees with the other ranks whether to stop, writes the log
row when one is due, and says which of sample / checkpoint / stop are due now.
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

    def close(self) -> None:
        pass


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
        self.seen, self.t_last = 0, time.perf_counter()  # images since the last log row
        show = echo and env.is_main and cfg.log.progress
        self.progress = (
            tqdm(
                total=cfg.total_steps,
                initial=state.step,
                desc="train",
                unit="step",
                dynamic_ncols=True,
                leave=True,
            )
            if show
            else None
        )

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
        self.seen, self.t_last = 0, now

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
