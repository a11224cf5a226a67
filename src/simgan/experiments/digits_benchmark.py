"""`simgan bench digits`: benchmarks.md section 3 over several seeds, with spread.

    simgan bench digits --json                       # seeds 0,1,2 at the digits preset
    simgan bench digits --seeds 0 --count 2000 --set train.steps=100 --json   # quick look

For each seed the whole digits pipeline runs (simgan.experiments.digits_demo.run_digits_demo:
render synthetic digits, train a refiner against one half of scikit-learn's real digits
without labels, refine, then train the same classifier on raw synthetic, refined synthetic
and the labelled real half) and accuracy is measured on the real test quarter, which nothing
trained on or was chosen on (the validation quarter is reported too, as val_*; the split is
simgan.experiments.digits_demo.split_real_digits). gap_closed = (refined - raw) /
(real-trained - raw) per seed; mean and std (ddof 0) across seeds are reported for every
figure.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from simgan.experiments.digits_demo import CONSISTENCY, run_digits_demo
from simgan.experiments.seeds import json_safe, mean_std, pct

FIGURES = (
    "accuracy_raw_synthetic",
    "accuracy_refined_synthetic",
    "accuracy_real_trained",
    "gap_closed",
)


def run_bench_digits(
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
    count: int = 20000,
    overrides: list[str] | tuple[str, ...] = (),
    out: str | None = None,
    consistency: float = CONSISTENCY,
) -> dict[str, Any]:
    """Run the digits pipeline once per seed; returns the JSON-ready result."""
    t0 = time.perf_counter()
    per_seed = []
    with tempfile.TemporaryDirectory(prefix="simgan-bench-digits-") as tmp:
        for seed in seeds:
            s0 = time.perf_counter()
            r = run_digits_demo(
                out or tmp,
                count=count,
                seed=seed,
                overrides=list(overrides),
                echo=False,
                consistency=consistency,
            )
            row = {k: r[k] for k in ("seed", *FIGURES, "test_count", "split_sizes")}
            row.update({k: v for k, v in r.items() if k.startswith(("test_", "val_"))})
            row["wall_s"] = round(time.perf_counter() - s0, 1)
            if out:
                row["folder"] = r["folder"]
            per_seed.append(row)
    result: dict[str, Any] = {
        "benchmark": "digits",
        "seeds": list(seeds),
        "synthetic_count": count,
        "overrides": list(overrides),
        "consistency": consistency,
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
