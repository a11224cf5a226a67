"""What simgan's training step spends its time on: torch.profiler over adversarial steps.

Runs --steps adversarial steps (after one warm-up) through simgan's own trainer functions
and prints one JSON object: the top operators by self time, and the share of the step in
convolutions (forward and backward), in the optimizers, and in everything else.

    python benchmarks/bench_profile.py --batch-size 64 --steps 2
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from simgan.device import resolve_device
from simgan.speed import timing
from simgan.speed.train_speed import CHANNELS, SIZE, SimganStep, eyes_config

GROUPS = {
    "convolution": ("conv", "mkldnn", "cudnn"),
    "optimizer": ("adam", "sgd", "_foreach", "optimizer"),
    "copy_and_layout": ("copy_", "contiguous", "to_copy", "_to_copy", "clone", "cat"),
}


def _group(name: str) -> str:
    low = name.lower()
    for group, keys in GROUPS.items():
        if any(k in low for k in keys):
            return group
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--set", action="append", default=[], help="config override, repeatable")
    args = ap.parse_args()
    device = resolve_device(args.device)
    threads, why = (args.threads, "given") if args.threads else timing.auto_threads()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    n = max(1024, 4 * args.batch_size)
    data = [rng.integers(0, 256, (n, *SIZE, CHANNELS), dtype=np.uint8) for _ in range(2)]
    step = SimganStep(eyes_config(args.batch_size, device, tuple(args.set)), *data, device)
    step()  # warm-up
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for _ in range(args.steps):
            step()
        timing.sync(device)
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, attr, 0) > 0]
    total = sum(getattr(e, attr) for e in events) or 1
    events.sort(key=lambda e: getattr(e, attr), reverse=True)
    groups: dict[str, float] = {}
    for e in events:
        groups[_group(e.key)] = groups.get(_group(e.key), 0.0) + getattr(e, attr) / total
    print(
        json.dumps(
            {
                "benchmark": "profile",
                "batch_size": args.batch_size,
                "steps": args.steps,
                "overrides": args.set,
                "simgan_settings": step.settings(),
                "machine": {**timing.machine_info(device, threads), "threads_why": why},
                "load_average": timing.load_average(),
                "measured": attr,
                "total_ms_per_step": round(total / 1000 / args.steps, 2),
                "share_by_group": {k: round(v, 4) for k, v in sorted(groups.items())},
                "top_ops": [
                    {
                        "op": e.key,
                        "share": round(getattr(e, attr) / total, 4),
                        "calls_per_step": e.count / args.steps,
                    }
                    for e in events[: args.top]
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
