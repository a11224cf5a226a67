"""The long variant of `simgan bench speed`: paper-sized batches, more repeats, more images.

Prints one JSON object (the same keys as `simgan bench speed --json`).

    python benchmarks/bench_speed.py                              # batches 64,256,512
    python benchmarks/bench_speed.py --device cuda --batch-sizes 512,2048,8192
"""

from __future__ import annotations

import argparse
import json

from simgan.speed.suite import run_speed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-sizes", default="64,256,512")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="default: CPUs less the load")
    ap.add_argument("--refine-count", type=int, default=1024)
    ap.add_argument("--simulator-count", type=int, default=16384)
    ap.add_argument("--import-count", type=int, default=65536)
    ap.add_argument("--matmul-size", type=int, default=None, help="default 2048 CPU, 8192 GPU")
    args = ap.parse_args()
    result = run_speed(
        batch_sizes=tuple(int(b) for b in args.batch_sizes.split(",")),
        repeats=args.repeats,
        device=args.device,
        threads=args.threads,
        refine_count=args.refine_count,
        simulator_count=args.simulator_count,
        import_count=args.import_count,
        matmul_size=args.matmul_size,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
