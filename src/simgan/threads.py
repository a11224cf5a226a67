"""How many CPU threads a job uses: the cores not already busy, and one thread where the
work per step is too small to gain from more (measured, not guessed).

Why it matters: PyTorch's default is one thread per core, and every parallel region waits
for its slowest thread. On a shared machine a thread without a free core is descheduled and
the whole step waits for it: on a 2-core machine with another process holding a core, the
digits step took 91 ms at 1 thread and 600-1,200 ms at the default.

The rule (`choose_threads`), for a setting `requested` (cfg.perf.threads):
  N > 0   N threads: the explicit setting wins.
  -1      PyTorch's own default (one per core, or OMP_NUM_THREADS), as before auto existed.
  0       auto: OMP_NUM_THREADS when the environment sets it (also an explicit setting);
          else the free cores, the CPUs this process may use less the 1-minute load average
          (`free_cores`); with more than one free core and a `time_step` to measure with,
          one step is timed at 1 thread and at the free count, and the free count is kept
          only where it makes the step at least MIN_SPEEDUP (1.5) times faster. The risk is
          lopsided: on a 2-core machine the digits step measured 7-10 ms at 1 thread,
          7 ms at 2 when the machine was idle, 0.2-1.3 s at 2 with another job on a core.
          A small step gains little from more threads and risks that.
The load average lags by up to a minute; the timing does not, which is one more reason to
measure. `worker_count` gives the same free-core count to onnxruntime and the simulator.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from simgan.errors import SimganError

AUTO = 0
TORCH_DEFAULT = -1
MIN_SPEEDUP = 1.5  # more threads are kept only where a step gets this many times faster

# PyTorch's choice before anything here changes it (one per core, or OMP_NUM_THREADS)
_TORCH_DEFAULT_THREADS = torch.get_num_threads()


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), not the host's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (empty where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return []


def free_cores(share: int = 1) -> tuple[int, str]:
    """(cores not already busy, why): all available CPUs less the 1-minute load average,
    at least 1; divided by `share` where that many processes of one job run side by side
    (torchrun's LOCAL_WORLD_SIZE)."""
    cpus = available_cpus()
    load = load_average()
    busy = int(round(load[0])) if load else 0
    free = max(1, min(cpus, cpus - busy))
    why = f"{cpus} CPUs available, 1-minute load {load[0] if load else 'unknown'}"
    if share > 1:
        free = max(1, free // share)
        why += f", shared by {share} processes"
    return free, why


def local_processes(world_size: int) -> int:
    """Processes of one job on this machine: torchrun's LOCAL_WORLD_SIZE, else world_size."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", world_size)))
    except ValueError:
        return max(1, world_size)


def _omp_env() -> int | None:
    """OMP_NUM_THREADS as a positive int, None where unset or not a count."""
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return n if n > 0 else None


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and why it was chosen; `timings` holds what was measured for it
    (threads -> seconds per step)."""

    threads: int
    why: str
    timings: tuple[tuple[int, float], ...] = ()

    def line(self) -> str:
        """The start-of-training line."""
        s = "" if self.threads == 1 else "s"
        return f"CPU threads: {self.threads} torch thread{s} ({self.why})"

    def apply(self) -> None:
        torch.set_num_threads(self.threads)


def step_time(seconds: float) -> str:
    """Seconds of one step, readable: '0.028 ms', '7.8 ms', '2.98 s'."""
    if seconds < 0.001:
        return f"{seconds * 1000:.3f} ms"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def timed_at(threads: int, time_step: Callable[[], float]) -> float:
    """time_step() run with `threads` torch threads; the caller's count is restored."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return time_step()
    finally:
        torch.set_num_threads(old)


def choose_threads(
    requested: int,
    time_step: Callable[[], float] | None = None,
    *,
    share: int = 1,
    what: str = "a training step",
) -> ThreadChoice:
    """The thread count for `requested` (cfg.perf.threads) by the rule in the module's
    docstring. time_step() times `what` at the current torch thread count and returns
    seconds; without it (a GPU does the work, or nothing to time) auto is the free cores."""
    if requested > 0:
        return ThreadChoice(requested, f"perf.threads={requested}, as set")
    if requested == TORCH_DEFAULT:
        return ThreadChoice(_TORCH_DEFAULT_THREADS, "perf.threads=-1: PyTorch's own default")
    if requested != AUTO:
        raise SimganError(f"threads must be -1, 0 or a positive count, got {requested}")
    env = _omp_env()
    if env is not None:
        return ThreadChoice(env, f"auto: OMP_NUM_THREADS={env} in the environment")
    free, why = free_cores(share)
    if free == 1:
        return ThreadChoice(1, f"auto: {why}, so 1 free core")
    if time_step is None:
        return ThreadChoice(free, f"auto: {why}, so {free} free cores")
    one = timed_at(1, time_step)
    many = timed_at(free, time_step)
    keep = many * MIN_SPEEDUP <= one
    measured = (
        f"{what} took {step_time(one)} at 1 thread, {step_time(many)} at {free} (measured now)"
    )
    if keep:
        verdict = f"{free} free cores, and {measured}"
    else:
        verdict = f"{free} free cores, but {measured}: under {MIN_SPEEDUP}x faster, too little gain"
    return ThreadChoice(free if keep else 1, f"auto: {why}; {verdict}", ((1, one), (free, many)))


def worker_count(requested: int | None = None) -> tuple[int, str]:
    """(threads, why) for work without a step to time (onnxruntime's sessions, the
    simulator's render threads): `requested` when given (> 0), else the free cores."""
    if requested is not None and requested > 0:
        return int(requested), "as given"
    free, why = free_cores()
    return free, f"auto: {why}"
