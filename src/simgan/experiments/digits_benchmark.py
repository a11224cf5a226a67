"""`simgan bench digits`: benchmarks.md section 3 over several seeds, with spread.

    simgan bench digits --json                       # seeds 0,1,2 at the digits preset
    simgan bench digits --seeds 0 --count 2000 --set train.steps=100 --json   # quick look

For each seed the whole digits pipeline runs (simgan.experiments.digits_demo.run_digits_demo:
render synthetic digits, train a refiner against one half of scikit-learn's real digits
without labels, refine, then train the same classifier on raw synthetic, refined synthetic
and the labelled real half) and accuracy is measured on the other real half, which nothing
trained on. gap_closed = (refined - raw) / (real-trained - raw) per seed; mean and std
(ddof 0) across seeds are reported for every figure.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

FIGURES = (
    "accuracy_raw_synthetic",
    "accuracy_refined_synthetic",
    "accuracy_real_trained",
    "gap_closed",
)


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1,2' -> (0, 1, 2); argparse type for --seeds."""
    try:
        seeds = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of seeds like 0,1,2") from None
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds needs at least one seed, e.g. 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"'{text}': repeated seed")
    return seeds


def add_common_options(p: argparse.ArgumentParser, count: int, seeds: str) -> None:
    """--seeds, --count, --set, --out, --json (shared by the quality benchmarks)."""
    from simgan.cli._common import positive_int

    p.add_argument(
        "--seeds",
        type=parse_seeds,
        default=parse_seeds(seeds),
        help=f"comma list (default {seeds})",
    )
    p.add_argument(
        "--count", type=positive_int, default=count, help=f"synthetic images (default {count})"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a refiner training config value, e.g. --set train.steps=500",
    )
    p.add_argument("--out", help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register_bench(sub: argparse._SubParsersAction) -> None:
    """Add `digits` to the `simgan bench` subcommands."""
    p = sub.add_parser(
        "digits",
        help="raw vs refined vs real-trained accuracy on real digits, over seeds",
        description="Refine font-rendered digits towards half of scikit-learn's real digits "
        "(unlabeled); accuracy on the other half of classifiers trained on raw synthetic, "
        "refined synthetic and real digits, per seed, with mean and std.",
    )
    add_common_options(p, count=20000, seeds="0,1,2")
    p.set_defaults(func=cmd_digits)


def cmd_digits(args: argparse.Namespace) -> int:
    from simgan.cli._common import print_json

    result = run_bench_digits(
        seeds=args.seeds, count=args.count, overrides=args.overrides, out=args.out
    )
    print_json(result) if args.json else print(format_summary(result))
    return 0


def mean_std(values: list[float | None]) -> dict[str, float | None]:
    """Mean and population std of the finite values (None when none are finite); n counts
    them (gap_closed is undefined, NaN, for a seed where there was no gap)."""
    import numpy as np

    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}


def json_safe(obj: Any) -> Any:
    """NaN and infinities -> None, recursively, so that --json prints strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def run_bench_digits(
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
    count: int = 20000,
    overrides: list[str] | tuple[str, ...] = (),
    out: str | None = None,
) -> dict[str, Any]:
    """Run the digits pipeline once per seed; returns the JSON-ready result."""
    import tempfile

    from simgan.experiments.digits_demo import run_digits_demo

    t0 = time.perf_counter()
    per_seed = []
    with tempfile.TemporaryDirectory(prefix="simgan-bench-digits-") as tmp:
        for seed in seeds:
            s0 = time.perf_counter()
            r = run_digits_demo(
                out or tmp, count=count, seed=seed, overrides=list(overrides), echo=False
            )
            row = {k: r[k] for k in ("seed", *FIGURES, "test_count")}
            row["wall_s"] = round(time.perf_counter() - s0, 1)
            if out:
                row["folder"] = r["folder"]
            per_seed.append(row)
    result: dict[str, Any] = {
        "benchmark": "digits",
        "seeds": list(seeds),
        "synthetic_count": count,
        "overrides": list(overrides),
        "per_seed": per_seed,
    }
    for k in FIGURES:
        result[k] = mean_std([row[k] for row in per_seed])
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return json_safe(result)


def format_summary(r: dict[str, Any]) -> str:
    """A few human-readable lines; --json has everything."""
    names = {
        "accuracy_raw_synthetic": "trained on raw synthetic",
        "accuracy_refined_synthetic": "trained on refined synthetic",
        "accuracy_real_trained": "trained on real (ceiling)",
        "gap_closed": "share of the gap closed",
    }
    lines = [f"digits benchmark, seeds {r['seeds']}, {r['synthetic_count']} synthetic digits:"]
    for k, name in names.items():
        seeds = ", ".join(pct(row[k]) for row in r["per_seed"])
        mean, std = pct(r[k]["mean"]), pct(r[k]["std"])
        lines.append(f"  {name:<32}{mean}% +- {std}  (per seed: {seeds})")
    return "\n".join(lines)


def pct(v: float | None) -> str:
    """A share as a percentage for the text summaries ('n/a' when undefined)."""
    return "  n/a" if v is None else f"{100 * v:5.1f}"
