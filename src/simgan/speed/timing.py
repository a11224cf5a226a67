"""Timing helpers shared by the benchmarks: repeats and medians, device sync, machine facts,
and the large float32 matrix product every FLOP rate is compared with."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from simgan.threads import available_cpus, free_cores, load_average

__all__ = [
    "Timings",
    "auto_threads",
    "available_cpus",
    "load_average",
    "machine_info",
    "matmul_flop_rate",
    "measure",
    "median",
    "sync",
]


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock time covers the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timings:
    """Wall-clock and process CPU seconds (all threads) of repeated runs of one thing.

    On a shared CPU the wall time includes waiting for a core; the CPU time does not, so
    with one thread it measures the work itself. Both are reported; on a GPU only wall.
    """

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, fn: Callable[[], object], device: torch.device) -> None:
        sync(device)
        t, c = time.perf_counter(), time.process_time()
        fn()
        sync(device)
        self.wall.append(time.perf_counter() - t)
        self.cpu.append(time.process_time() - c)

    @property
    def wall_s(self) -> float:
        return median(self.wall)

    @property
    def cpu_s(self) -> float:
        return median(self.cpu)

    def rates(self, count: float, device: torch.device, unit: str = "images") -> dict:
        """{unit}_per_s (wall) and, on CPU, {unit}_per_cpu_s, from the medians."""
        out = {f"{unit}_per_s": count / self.wall_s}
        if device.type == "cpu":
            out[f"{unit}_per_cpu_s"] = count / self.cpu_s
        out["seconds"] = [round(t, 4) for t in self.wall]
        return out


def measure(
    fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1
) -> Timings:
    """Run fn `warmup` times untimed, then `repeats` times timed."""
    for _ in range(warmup):
        fn()
    t = Timings()
    for _ in range(repeats):
        t.add(fn, device)
    return t


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def auto_threads() -> tuple[int, str]:
    """Threads for a fair measurement on a possibly shared machine, and why.

    All available CPUs, less those other processes already keep busy (the 1-minute load
    average; simgan.threads.free_cores, which training's auto threads use too): on an
    oversubscribed machine a second thread mostly waits at barriers for a core it does not
    get, which makes every figure slower and noisier (a 2-core machine at load 7 ran the
    refiner 3x faster on 1 thread than on 2).
    """
    return free_cores()


def machine_info(device: torch.device, threads: int) -> dict:
    """What the figures were measured on."""
    info = {
        "device": str(device),
        "torch_version": torch.__version__,
        "torch_threads": threads,
        "cpus_available": available_cpus(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def matmul_flop_rate(device: torch.device, n: int = 2048, repeats: int = 5) -> dict:
    """FLOP/s of an (n x n) @ (n x n) float32 product (2 n^3 FLOPs), median of repeats.

    This is the machine's practical dense float32 rate, the yardstick for model FLOP/s.
    TF32 is left at PyTorch's default (off for matmul), so a GPU figure is true float32.
    bf16_flop_per_s is the same product in bfloat16, for steps that run under bf16 autocast.
    """
    g = torch.Generator().manual_seed(0)
    out = {"n": n, "dtype": "float32"}
    for dtype, prefix in ((torch.float32, ""), (torch.bfloat16, "bf16_")):
        a = torch.randn(n, n, generator=g).to(device, dtype)
        b = torch.randn(n, n, generator=g).to(device, dtype)
        c = torch.empty(n, n, device=device, dtype=dtype)
        t = measure(lambda a=a, b=b, c=c: torch.matmul(a, b, out=c), device, repeats)
        for k, v in t.rates(2.0 * n**3, device, unit="flop").items():
            out[prefix + k] = v
    return out
