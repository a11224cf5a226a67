"""Where simgan's training speed comes from: the step with each speed setting switched off.

For every variant (config overrides on simgan's side), the adversarial step is timed next to
the naive baseline port in the same process, so each speedup_vs_baseline is a side-by-side
ratio. Prints one JSON object.

    python benchmarks/bench_train_ablation.py --batch-size 64 --repeats 3
"""

from __future__ import annotations

import argparse
import json

import torch

from simgan.device import resolve_device
from simgan.speed import timing
from simgan.speed.train_speed import bench_train_step, model_flops

VARIANTS = {
    "default": (),
    "float32": ("perf.amp=none",),
    "float32_nchw": ("perf.amp=none", "perf.channels_last=false"),
    "bf16_nchw": ("perf.channels_last=false",),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma list of names")
    args = ap.parse_args()
    device = resolve_device(args.device)
    threads, why = (args.threads, "given") if args.threads else timing.auto_threads()
    torch.set_num_threads(threads)
    load = timing.load_average()
    mm = timing.matmul_flop_rate(device, 8192 if device.type == "cuda" else 2048)
    flops = model_flops(device)
    rows = {}
    for name in args.variants.split(","):
        row = bench_train_step(
            args.batch_size, device, args.repeats, mm, flops, overrides=VARIANTS[name]
        )
        rows[name] = {
            k: v for k, v in row.items() if not k.endswith("_all") and "flop_per_s" not in k
        }
    print(
        json.dumps(
            {
                "benchmark": "train_ablation",
                "batch_size": args.batch_size,
                "repeats": args.repeats,
                "machine": {**timing.machine_info(device, threads), "threads_why": why},
                "load_average_start": load,
                "load_average_end": timing.load_average(),
                "matmul": mm,
                "variants": {k: list(VARIANTS[k]) for k in rows},
                "results": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
