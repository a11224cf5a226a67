"""Screen training options on the real TRAINING set's own held-out split (never the holdout).

    python benchmarks/screen_eyes_options.py --out /tmp/screen --seed 0 \
        --set model.spectral_norm=true --set loss.real_label_smoothing=0.1

1. the real, unlabeled set (default ../shared/data/real/mpiigaze_p00_36x60, 3,000 patches
   36x60) is split at random (permutation seed 0, the same for every seed and setting) into
   a training part (2,400) the refiner trains against and a validation part (600) it is
   scored against; nothing here reads ../shared/data/holdout;
2. 4,000 simulator eyes of stream `--seed` at 36x60;
3. with --label-model, a gaze estimator is trained on those synthetic eyes (the
   preservation estimator's recipe: appearance-only jitter, validation plateau) and passed
   as loss.label_model (add --set loss.lambda_label=W to use it);
4. a refiner trains with the CPU budget (simgan.experiments.budgets.EYES_CPU_BUDGET) plus
   the --set overrides; with select.every > 0 the trainer keeps checkpoints/best.pt, chosen
   on select.held_out patches of the 2,400 training ones (not on the validation part);
5. evaluate_run against the 600 validation patches: C2ST and KID of raw and refined eyes,
   iris and gaze moved on fresh simulator eyes, and the gaze yardstick's error against the
   labels before and after refinement; for a run with a best checkpoint, both the best and
   the last checkpoint are scored. With --label-model the gaze is also read by the frozen
   label model R trained against ("label_model": did R satisfy the network it was tied to,
   or only move the independent yardstick's reading?).
Prints one JSON object. The data of step 1-3 is kept in --out and reused by later calls.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL = SHARED / "real/mpiigaze_p00_36x60/test_images_36x60_uint8.npz"
SIZE = (36, 60)
VAL_COUNT = 600


def split_real(src: Path, out: Path) -> tuple[Path, Path]:
    """train.h5 and val.h5 in `out` (a fixed permutation of `src`), made once."""
    from simgan.data.importers.npz import import_npz

    train, val = out / "train.h5", out / "val.h5"
    if train.is_file() and val.is_file():
        return train, val
    with np.load(src) as z:
        images = z["images"]
    order = np.random.default_rng(0).permutation(len(images))
    for path, idx in ((val, order[:VAL_COUNT]), (train, order[VAL_COUNT:])):
        tmp = path.with_suffix(".npz")
        np.savez(tmp, images=images[np.sort(idx)])
        import_npz(tmp, path, size=SIZE, domain="real", overwrite=True)
        tmp.unlink()
    return train, val


def summary(metrics: dict) -> dict:
    keys = ("c2st_accuracy_raw_synthetic", "c2st_accuracy_refined", "kid_raw_synthetic")
    out = {k: metrics[k] for k in (*keys, "kid_refined")}
    p = metrics.get("preservation", {})
    for k in ("pupil_shift_px_mean", *GAZE_ERRORS):
        if k in p:
            out[k] = p[k]
    return out


# What the gaze yardstick says: how far refinement moved its reading, and its error against
# the synthetic labels on the eyes before and after refinement.
GAZE_ERRORS = ("gaze_shift_deg_mean", "estimator_error_deg", "gaze_error_refined_deg")


def read_by(metrics: dict) -> dict:
    """The gaze keys of a run's preservation metrics, for a reading by another estimator."""
    p = metrics.get("preservation", {})
    return {k: p.get(k) for k in GAZE_ERRORS}


def main() -> None:
    from simgan.config import load_config
    from simgan.data.eyes import write_synthetic_eyes
    from simgan.errors import SimganError
    from simgan.evaluate.run_eval import evaluate_run
    from simgan.experiments.budgets import EYES_CPU_BUDGET
    from simgan.experiments.pipeline import gaze_label_model
    from simgan.training import train
    from simgan.training.checkpoint import best_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=REAL)
    ap.add_argument("--out", type=Path, required=True, help="folder for the data and runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=4000, help="synthetic eyes (4000)")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--label-model", action="store_true", help="train and pass loss.label_model")
    args = ap.parse_args()

    t0 = time.perf_counter()
    if not args.real.is_file():
        raise SimganError(f"{args.real}: real set not found; pass --real an .npz of eye images")
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    train_h5, val_h5 = split_real(args.real, data)
    syn = data / f"synthetic_{args.seed}.h5"
    if not syn.is_file():
        write_synthetic_eyes(syn, args.count, seed=args.seed, size=SIZE, overwrite=True)
    overrides = [f"seed={args.seed}", *EYES_CPU_BUDGET]
    if args.label_model:
        path, error = gaze_label_model(syn, data / f"label_model_{args.seed}.pt", args.seed)
        if error is not None:
            print(f"label model: {error:.2f} deg validation error", file=sys.stderr)
        overrides.append(f"loss.label_model={path}")
    overrides += args.overrides
    cfg = load_config("eyes", overrides)
    t1 = time.perf_counter()
    run = train(cfg, syn, train_h5, args.out / "runs", echo=False)
    t2 = time.perf_counter()
    result = {
        "benchmark": "screen_eyes_options",
        "seed": args.seed,
        "overrides": args.overrides,
        "run": str(run),
        "train_s": round(t2 - t1, 1),
    }
    best = best_checkpoint(run)
    points = {"last": run / "checkpoints" / "last.pt"}
    if best is not None:
        points["best"] = best
        result["best_step"] = json.loads((run / "checkpoints" / "best.json").read_text())
    for name, ckpt in points.items():
        m = evaluate_run(ckpt, real=val_h5, count=VAL_COUNT, seed=args.seed, write=False)
        result[name] = summary(m)
        if args.label_model:
            m = evaluate_run(
                ckpt,
                real=val_h5,
                count=VAL_COUNT,
                seed=args.seed,
                write=False,
                gaze_estimator=path,
                realism=False,  # the same refined eyes, read again: C2ST and KID are above
            )
            result[name]["label_model"] = read_by(m)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    from simgan.errors import SimganError

    try:
        main()
    except SimganError as e:  # a wrong path or a bad file: one line, exit 2, as the CLI does
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
