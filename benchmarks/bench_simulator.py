"""Simulator throughput: eye images rendered per second, labels included.

Prints one JSON object. Two figures, each the median of --repeats runs:
- render: `render_eyes` into memory (images + gaze, landmarks, head pose);
- write: `write_synthetic_eyes` into a dataset file (rendering, HDF5 and compression,
  the rendering of the next chunks overlapping the writing).
Wall-clock and process CPU time are both given: on a shared machine the CPU rate says what
the code costs, the wall rate what a user waits.

    python benchmarks/bench_simulator.py --count 16384 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from simgan.data.eyes import render_eyes, write_synthetic_eyes


def _timed(fn, *args, **kwargs) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=16384, help="images per run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", default="35x55", help="HEIGHTxWIDTH")
    ap.add_argument("--chunk", type=int, default=4096, help="images per write")
    ap.add_argument("--workers", type=int, default=None, help="render threads when writing")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.lower().split("x"))

    render_eyes(256, seed=args.seed, size=(h, w))  # warm up (imports, allocator)
    render, write = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.h5"
        for r in range(args.repeats):
            seed = args.seed + r
            render.append(_timed(render_eyes, args.count, seed=seed, size=(h, w)))
            write.append(
                _timed(
                    write_synthetic_eyes,
                    out,
                    args.count,
                    seed=seed,
                    size=(h, w),
                    overwrite=True,
                    chunk=args.chunk,
                    workers=args.workers,
                )
            )
            bytes_per_image = out.stat().st_size / args.count

    def rate(runs: list[tuple[float, float]], i: int) -> float:
        return round(args.count / statistics.median(t[i] for t in runs), 1)

    print(
        json.dumps(
            {
                "benchmark": "simulator",
                "size": f"{h}x{w}",
                "count": args.count,
                "repeats": args.repeats,
                "chunk": args.chunk,
                "workers": args.workers,
                "render_images_per_s": rate(render, 0),
                "render_images_per_cpu_s": rate(render, 1),
                "write_images_per_s": rate(write, 0),
                "write_images_per_cpu_s": rate(write, 1),
                "file_bytes_per_image": round(bytes_per_image, 1),
                "cpu_count": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
