"""Refinement throughput by backend and batch size: PyTorch, TorchScript and ONNX Runtime.

The eye refiner (random weights: speed does not depend on them) is exported to TorchScript
and ONNX with simgan.export, loaded back with load_any_refiner, and each backend refines
the same uint8 images (uint8 in, uint8 out, as `simgan refine` does). Prints one JSON object
with images/s (wall and per CPU second), medians of --repeats.

    python benchmarks/bench_refine.py --count 1024 --batch-sizes 64,256,1024
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from simgan.device import resolve_device
from simgan.export import export_refiner
from simgan.models import build_refiner
from simgan.refine import OnnxRefiner, TorchRefiner, load_any_refiner
from simgan.speed import timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1024)
    ap.add_argument("--batch-sizes", default="64,256,1024")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    device = resolve_device(args.device)
    threads, why = (args.threads, "given") if args.threads else timing.auto_threads()
    torch.set_num_threads(threads)
    load = timing.load_average()
    images = np.random.default_rng(0).integers(0, 256, (args.count, 35, 55, 1), dtype=np.uint8)
    refiner = build_refiner("eyes", 1).eval()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        models = {"pytorch": TorchRefiner(refiner.to(device), 1, device, "pytorch", "memory")}
        for fmt, name in (("torchscript", "r.pt"), ("onnx", "r.onnx")):
            path, _ = export_refiner(refiner, Path(tmp) / name, fmt, channels=1)
            # onnxruntime gets the same thread count as PyTorch
            onnx = fmt == "onnx"
            models[fmt] = (
                OnnxRefiner(path, "cpu", threads) if onnx else load_any_refiner(path, device)
            )
        for b in (int(x) for x in args.batch_sizes.split(",")):
            for name, model in models.items():
                dev = device if name != "onnx" else torch.device("cpu")
                t = timing.measure(lambda m=model, b=b: m.refine(images, b), dev, args.repeats)
                rates = t.rates(args.count, dev)
                results.setdefault(str(b), {})[name] = {
                    k: round(v, 1) for k, v in rates.items() if k != "seconds"
                }
    print(
        json.dumps(
            {
                "benchmark": "refine",
                "count": args.count,
                "repeats": args.repeats,
                "machine": {**timing.machine_info(device, threads), "threads_why": why},
                "load_average_start": load,
                "load_average_end": timing.load_average(),
                "images_per_s_by_batch_size": results,
            }
        )
    )


if __name__ == "__main__":
    main()
