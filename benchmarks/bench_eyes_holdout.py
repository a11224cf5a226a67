"""Benchmark section 1: simulator eyes refined towards real MPIIGaze eyes, scored on the holdout.

    python benchmarks/bench_eyes_holdout.py --out /tmp/eyes-bench          # CPU budget
    python benchmarks/bench_eyes_holdout.py --full-budget --count 100000   # a GPU job

1. the real, unlabeled set (default ../shared/data/real/mpiigaze_p00_36x60, 3,000 patches
   36x60) and the holdout (default ../shared/data/holdout/mpiigaze_mixed_HxW for --size HxW
   when that folder exists: 100 patches of other people at the default 36x60; else all of
   ../shared/data/holdout) are imported at --size (default 36x60, the real patches' own
   size), stretched where a patch has another size; the JSON lists under "resampled" every
   set that was, since a two-sample test tells resampling blur from no blur;
2. --count synthetic eyes with gaze labels from the built-in simulator, rendered at --size;
3. a refiner trains against the real set only (eyes preset; on a CPU the budget of
   simgan.experiments.budgets.EYES_CPU_BUDGET unless --full-budget; --set overrides either;
   with --label-model a gaze estimator trained on the synthetic eyes is loss.label_model);
4. `simgan eval all RUN --real holdout.h5` (the run's best.pt where select.every chose one on
   held-out p00 patches, else last.pt; "checkpoint" names it): classifier two-sample test
   and KID of raw and of refined synthetic against the holdout, label preservation, on fresh
   simulator eyes past the training file (scored_on); then the HTML report, whose grids
   show synthetic | refined | holdout.
Nothing trains or is tuned on the holdout. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NATIVE_SIZE = (36, 60)  # MPIIGaze normalized eye patches


def default_holdout(size: tuple[int, int]) -> Path:
    """The holdout folder of patches already at `size`, else the whole holdout."""
    native = SHARED / "holdout" / f"mpiigaze_mixed_{size[0]}x{size[1]}"
    return native if native.is_dir() else SHARED / "holdout"


def source_sizes(path: str | Path) -> set[tuple[int, int]]:
    """(H, W) of the images in an .npz file or an image folder (recursive), before import."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path) as z:
            return {tuple(z[k].shape[1:3]) for k in z.files if z[k].ndim >= 3}
    files = [p for p in sorted(path.rglob("*")) if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    return {cv2.imread(str(p), cv2.IMREAD_UNCHANGED).shape[:2] for p in files}


def main() -> None:
    from simgan.cli._common import parse_size
    from simgan.config import load_config
    from simgan.data.eyes import write_synthetic_eyes
    from simgan.data.importers.folder import import_folder
    from simgan.data.importers.npz import import_npz
    from simgan.evaluate.run_eval import evaluate_run
    from simgan.experiments.budgets import EYES_CPU_BUDGET
    from simgan.experiments.pipeline import gaze_label_model, require_label_weight
    from simgan.report.page import write_report
    from simgan.training import train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--real", default=str(SHARED / "real/mpiigaze_p00_36x60/test_images_36x60_uint8.npz")
    )
    ap.add_argument("--holdout", help="holdout folder (default: see step 1)")
    ap.add_argument("--out", required=True, help="folder for the datasets, run and report")
    ap.add_argument("--count", type=int, default=4000, help="synthetic eyes (4000)")
    ap.add_argument("--size", type=parse_size, default=NATIVE_SIZE, help="HxW of every set (36x60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--full-budget", action="store_true", help="the eyes preset's schedule")
    ap.add_argument(
        "--label-model",
        action="store_true",
        help="train a gaze estimator on the synthetic eyes and pass it as loss.label_model "
        "(add --set loss.lambda_label=W)",
    )
    args = ap.parse_args()

    if args.label_model:  # before any import or training
        require_label_weight(args.overrides)
    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    holdout = Path(args.holdout) if args.holdout else default_holdout(args.size)
    resampled = [
        name
        for name, src in (("real", args.real), ("holdout", holdout))
        if source_sizes(src) != {tuple(args.size)}
    ]
    kw = {"size": args.size, "fit_mode": "stretch", "domain": "real", "overwrite": True}
    import_npz(args.real, out / "real.h5", **kw)
    import_folder(holdout, out / "holdout.h5", recursive=True, **kw)
    syn = write_synthetic_eyes(
        out / "synthetic.h5", args.count, seed=args.seed, size=args.size, overwrite=True
    )
    budget = () if args.full_budget else EYES_CPU_BUDGET
    extra = []
    if args.label_model:
        path, _ = gaze_label_model(syn, out / "label_model.pt", args.seed)
        extra.append(f"loss.label_model={path}")
    cfg = load_config("eyes", [f"seed={args.seed}", *budget, *extra, *args.overrides])
    t1 = time.perf_counter()
    run = train(cfg, syn, out / "real.h5", out / "runs", echo=False)
    t2 = time.perf_counter()
    metrics = evaluate_run(run, real=out / "holdout.h5", count=args.count, seed=args.seed)
    report = write_report(run, out / "report.html", real=out / "holdout.h5", overwrite=True)
    keep = ("c2st_accuracy_raw_synthetic", "c2st_ci95_raw_synthetic", "c2st_accuracy_refined")
    keep += ("c2st_ci95_refined", "kid_raw_synthetic", "kid_refined", "preservation")
    result = {
        "benchmark": "eyes_holdout",
        "seed": args.seed,
        "synthetic_count": args.count,
        "size": f"{args.size[0]}x{args.size[1]}",
        "holdout": str(holdout),
        "resampled": resampled,
        "scored_on": metrics["scored_on"],
        "overrides": [*budget, *extra, *args.overrides],
        "checkpoint": metrics.get("checkpoint"),
        **{k: metrics[k] for k in keep if k in metrics},
        "run": str(run),
        "report": str(report),
        "train_s": round(t2 - t1, 1),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    from simgan.errors import SimganError

    try:
        main()
    except SimganError as e:  # a wrong path or a bad file: one line, exit 2, as the CLI does
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
