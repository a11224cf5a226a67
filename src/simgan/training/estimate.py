"""Time stated before it is spent: the CPU threads a training runs on and how long it takes
here, measured on this machine before the first step that counts.

`plan_training` builds a throwaway TrainState like build_state, inside a copy of torch's
random state (`torch.random.fork_rng`), so the real run draws exactly what it would have
drawn without it. On it: the thread choice of simgan.threads (auto times one refiner step
at 1 thread and at the free cores), then a few steps of each phase with the real batch on
this device, plus drawing its batches from the run's own image banks (with a generator of
its own): expected duration = seconds per step x steps, phase by phase. Logging, sample
grids and checkpoints come on top. A step is timed as the median of a few after one warm-up
call, or as that one call where it alone takes `STEP_BUDGET_S` (a long step barely warms
up, and the eyes preset's steps take seconds each on a CPU).

On a CPU, a GPU-sized config (the eyes or hands networks at batch >= 256, or more than
`GPU_SIZED_S` expected) gets one warning naming the CPU budget of simgan.experiments.budgets
(EYES_CPU_BUDGET, what `simgan demo eyes` trains on a CPU) as --set lines, timed the same
way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from simgan.config import Config, apply_overrides, to_dict
from simgan.experiments.budgets import EYES_CPU_BUDGET
from simgan.images import to_float
from simgan.threads import ThreadChoice, choose_threads, local_processes, step_time
from simgan.training.batches import ImageBank
from simgan.training.state import TrainState, build_state
from simgan.training.updates import adversarial_step, discriminator_update, refiner_update

PHASES = ("pretrain_refiner", "pretrain_discriminator", "adversarial")
PHASE_NAMES = {
    "pretrain_refiner": "pretrain R",
    "pretrain_discriminator": "pretrain D",
    "adversarial": "adversarial",
}
STEP_BUDGET_S = 0.25  # timing of one phase stops after about this long (after its warm-up)
REPEATS = 5  # timed steps per phase at most
GPU_SIZED_S = 2 * 3600.0  # a CPU run expected longer than this gets the warning
GPU_SIZED_BATCH = 256
GPU_NETWORKS = ("eyes", "hands")  # the paper's networks (model presets)


def phase_steps(cfg: Config) -> dict[str, int]:
    """Steps of each phase in the schedule."""
    t = cfg.train
    counts = (t.pretrain_refiner_steps, t.pretrain_discriminator_steps, t.steps)
    return dict(zip(PHASES, counts, strict=True))


def format_duration(seconds: float) -> str:
    """'0.04 s', '4.2 s', '42 s', '3 min 20 s', '5 h 07 min', '3.4 days'."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s"
    if seconds < 48 * 3600:
        h, m = divmod(round(seconds / 60), 60)
        return f"{h} h {m:02d} min"
    return f"{seconds / 86400:.1f} days"


@dataclass(frozen=True)
class Estimate:
    """Measured seconds per step of each phase, and the steps of the schedule."""

    per_step: dict[str, float]  # phase -> seconds (phases without steps are not timed)
    steps: dict[str, int]  # phase -> steps in the schedule
    device: str
    batch: int  # images per update of this process
    threads: int
    compiled: bool = False  # the run compiles its networks; the timing did not
    draw_s: dict[str, float] = dataclasses.field(default_factory=dict)  # bank -> s per batch

    def remaining(self, from_step: int = 0) -> dict[str, int]:
        """Steps of each phase still to run from global step `from_step` (0-based)."""
        out, start = {}, 0
        for phase in PHASES:
            end = start + self.steps[phase]
            out[phase] = max(0, end - max(start, from_step))
            start = end
        return out

    def seconds(self, from_step: int = 0) -> float:
        """Expected seconds of the updates still to run."""
        left = self.remaining(from_step)
        return sum(self.per_step.get(p, 0.0) * n for p, n in left.items())

    def line(self, from_step: int = 0) -> str:
        """'expected duration: ...' with the per-phase figures it is made of."""
        left = self.remaining(from_step)
        parts = [
            f"{PHASE_NAMES[p]} {n:,} x {step_time(self.per_step[p])}"
            for p, n in left.items()
            if n and p in self.per_step
        ]
        threads = f"{self.threads} thread" + ("" if self.threads == 1 else "s")
        where = f"{self.device}, {self.batch} images per update, {threads}"
        text = f"expected duration: {format_duration(self.seconds(from_step))} here ({where})"
        if from_step:
            text += f", from step {from_step}"
        if parts:
            text += ": " + ", ".join(parts)
        if self.draw_s:
            draws = ", ".join(f"{k} {step_time(v)}" for k, v in self.draw_s.items())
            text += f" (drawing one batch: {draws})"
        text += "; timed now on throwaway networks; logs, samples and checkpoints extra"
        if self.compiled:
            text += ", without torch.compile (its first steps compile for about a minute)"
        return text


@dataclass(frozen=True)
class Plan:
    """What `plan_training` found: the threads to use, the estimate, and the warning for a
    GPU-sized config on a CPU (None otherwise)."""

    threads: ThreadChoice
    estimate: Estimate
    warning: str | None = None

    def lines(self, from_step: int = 0) -> list[str]:
        """The lines printed (and logged) at the start of training."""
        out = [self.threads.line(), self.estimate.line(from_step)]
        return out + ([self.warning] if self.warning else [])


class _Probe:
    """A throwaway TrainState and fixed random batches: times one step of any phase."""

    def __init__(self, cfg: Config, channels: int, height: int, width: int, device, batch: int):
        t = cfg.train
        # a small buffer (mixing costs the same) and no compile: quick to build, small
        cap = max(batch, min(t.history_capacity, 2 * batch))
        cfg = dataclasses.replace(
            cfg,
            train=dataclasses.replace(t, history_capacity=cap),
            perf=dataclasses.replace(cfg.perf, compile=False),
        )
        self.cfg, self.device = cfg, device
        self.state: TrainState = build_state(cfg, channels, device)
        g = torch.Generator().manual_seed(0)  # never the global generator
        self.batches = [
            self._batch(torch.randint(0, 256, (batch, channels, height, width), generator=g))
            for _ in range(3)
        ]
        self.drawn = 0
        self.cache: dict[tuple[str, int], float] = {}

    def _batch(self, u8: torch.Tensor) -> torch.Tensor:
        x = to_float(u8.to(torch.uint8).to(self.device))
        return x.contiguous(memory_format=torch.channels_last) if self.state.channels_last else x

    def draw(self) -> torch.Tensor:
        self.drawn += 1
        return self.batches[self.drawn % len(self.batches)]

    def step(self, phase: str) -> None:
        s, cfg = self.state, self.cfg
        if phase == "pretrain_refiner":
            refiner_update(s, cfg, self.draw(), False)
        elif phase == "pretrain_discriminator":
            discriminator_update(s, self.draw(), self.draw(), cfg=cfg)
        else:
            adversarial_step(s, cfg, self.draw, self.draw)

    def time(self, phase: str) -> float:
        """Seconds per step of `phase` at the current torch thread count (cached)."""
        key = (phase, torch.get_num_threads())
        if key not in self.cache:
            self.cache[key] = _time(lambda: self.step(phase), self.device)
        return self.cache[key]


def _time(fn: Callable[[], None], device: torch.device) -> float:
    """Median seconds of a few fn() calls after a warm-up call (that call alone where it
    took STEP_BUDGET_S or more)."""

    def once() -> float:
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # the GPU's work, not just its queueing
        return time.perf_counter() - t

    first = once()
    if first >= STEP_BUDGET_S:
        return first
    times: list[float] = []
    while len(times) < REPEATS and (not times or sum(times) < STEP_BUDGET_S):
        times.append(once())
    return float(statistics.median(times))


@contextlib.contextmanager
def _throwaway(cfg, channels, height, width, device, batch) -> Iterator[_Probe]:
    """A _Probe inside a copy of torch's random state: the caller's RNG is untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        probe = _Probe(cfg, channels, height, width, device, batch)
        try:
            yield probe
        finally:
            del probe.state, probe.batches
            if device.type == "cuda":
                torch.cuda.empty_cache()


def drawsstep_time(cfg: Config) -> dict[str, dict[str, int]]:
    """Batches each phase's step draws from each bank (as the training loop draws them)."""
    t = cfg.train
    return {
        "pretrain_refiner": {"synthetic": 1, "real": 0},
        "pretrain_discriminator": {"synthetic": 1, "real": 1},
        "adversarial": {"synthetic": t.k_g + t.k_d, "real": t.k_d},
    }


def time_draws(
    banks: dict[str, ImageBank], batch: int, device: torch.device, channels_last: bool
) -> dict[str, float]:
    """Seconds to draw one batch from each bank to `device`, with a generator of our own
    (the run's generators are untouched)."""
    g = torch.Generator().manual_seed(0)
    return {
        name: _time(lambda bank=bank: bank.sample(batch, g, device, channels_last), device)
        for name, bank in banks.items()
    }


def is_gpu_sized(cfg: Config, device: torch.device, expected_s: float) -> bool:
    """True for a CPU run of the paper's eyes or hands networks at batch >= 256, or of
    anything expected to take more than GPU_SIZED_S."""
    if device.type != "cpu":
        return False
    paper = cfg.model.refiner in GPU_NETWORKS or cfg.name.split("-")[0] in GPU_NETWORKS
    return expected_s > GPU_SIZED_S or (paper and cfg.train.batch_size >= GPU_SIZED_BATCH)


def plan_training(
    cfg: Config,
    channels: int,
    height: int,
    width: int,
    device: torch.device,
    *,
    world_size: int = 1,
    banks: dict[str, ImageBank] | None = None,
    say: Callable[[str], None] | None = None,
    warn: bool = True,
) -> Plan:
    """Choose the CPU threads and time the schedule on this machine (see the module's
    docstring). Leaves torch's thread count at the choice and its RNG as it found it.

    world_size: processes of the run (each updates on batch_size / world_size images; those
    on this machine share its cores, and auto threads then split the free cores without
    timing); banks: {"synthetic": ..., "real": ...}, the run's image banks, to time drawing
    batches from (a cost of its own: see time_draws); say: where to announce the timing,
    which may take a while.
    """
    batch = cfg.train.batch_size // world_size
    share = local_processes(world_size) if world_size > 1 else 1
    steps = phase_steps(cfg)
    if say:
        say(f"timing a few training steps on {device} at {batch} images per update ...")
    with _throwaway(cfg, channels, height, width, device, batch) as probe:
        measure = device.type == "cpu" and share == 1 and sum(steps.values()) > 0
        choice = choose_threads(
            cfg.perf.threads,
            (lambda: probe.time("pretrain_refiner")) if measure else None,
            share=share,
            what="a refiner step",
        )
        choice.apply()
        per_step = {p: probe.time(p) for p in PHASES if steps[p]}
        channels_last = probe.state.channels_last
    draw_s = time_draws(banks, batch, device, channels_last) if banks and per_step else {}
    for phase in per_step:
        per_step[phase] += sum(
            n * draw_s.get(k, 0.0) for k, n in drawsstep_time(cfg)[phase].items()
        )
    estimate = Estimate(
        per_step, steps, str(device), batch, choice.threads, cfg.perf.compile, draw_s
    )
    warning = None
    if warn and is_gpu_sized(cfg, device, estimate.seconds()):
        warning = _gpu_warning(cfg, estimate, (channels, height, width), device, world_size, banks)
        choice.apply()  # the budget's own timing may have chosen other threads
    return Plan(choice, estimate, warning)


def _gpu_warning(cfg, estimate, shape, device, world_size, banks) -> str:
    """The warning for a GPU-sized config on a CPU, with the CPU budget timed here."""
    channels, height, width = shape
    t = cfg.train
    budget = apply_overrides(to_dict(cfg), EYES_CPU_BUDGET, "EYES_CPU_BUDGET")
    small = plan_training(
        budget, channels, height, width, device, world_size=world_size, banks=banks, warn=False
    )
    sets = " ".join(f"--set {o}" for o in EYES_CPU_BUDGET)
    return (
        f"warning: config {cfg.name} (batch {t.batch_size}, {cfg.total_steps:,} steps) is "
        f"sized for a GPU: about {format_duration(estimate.seconds())} on this CPU. The CPU "
        f"budget that `simgan demo eyes` trains (simgan.experiments.budgets.EYES_CPU_BUDGET: "
        f"the small refiner at batch {budget.train.batch_size}, {budget.total_steps:,} steps) "
        f"takes about {format_duration(small.estimate.seconds())} here: {sets}"
    )
