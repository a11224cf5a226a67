"""Evaluate a training run with everything that applies; writes RUN/metrics.json.

- realism: classifier two-sample test and KID of raw synthetic vs real and of refined
  synthetic vs real (50% / 0 = indistinguishable), on real images the caller names
  (a held-out set is best; by default the run's own real training set);
- preservation: how far refinement moves the pupil, and the gaze an estimator trained on
  synthetic reads, when the synthetic set has gaze labels;
- gaze: mean angular error on a labelled test set of estimators trained on raw and on
  refined synthetic images, when a test set with gaze is given (the paper's Table 2 setting).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from simgan.atomic import atomic_path
from simgan.data.dataset import DatasetReader
from simgan.errors import SimganError
from simgan.evaluate.gaze_estimation import (
    evaluate_gaze,
    load_gaze_estimator,
    train_gaze_estimator,
)
from simgan.evaluate.preservation import preservation
from simgan.evaluate.realism import c2st, kid
from simgan.refine import load_refiner, refine_array
from simgan.training.checkpoint import find_checkpoint, load_checkpoint


def _first(path: str | os.PathLike, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with DatasetReader(path) as r:
        return r.read(0, min(n, len(r)))


def evaluate_run(
    run: str | os.PathLike,
    *,
    real: str | os.PathLike | None = None,
    synthetic: str | os.PathLike | None = None,
    test: str | os.PathLike | None = None,
    count: int = 2000,
    epochs: int = 10,
    seed: int = 0,
    min_steps: int = 300,
    gaze_estimator: str | os.PathLike | None = None,
    write: bool = True,
) -> dict[str, Any]:
    """Score a run; returns the metrics (also saved as RUN/metrics.json when `write`).

    gaze_estimator: a file written by save_gaze_estimator (`simgan eval gaze --save-model`)
    that reads the gaze for the preservation score; by default one is trained on part of
    the synthetic images."""
    run = Path(run)
    data = load_checkpoint(find_checkpoint(run))["data"]
    synthetic = synthetic or data["synthetic"]["path"]
    real = real or data["real"]["path"]
    for p in (synthetic, real):
        if not Path(p).is_file():
            raise SimganError(f"{p}: not found (moved since training?); pass it explicitly")
    refiner, _, _ = load_refiner(run)
    syn, labels = _first(synthetic, count)
    ref = refine_array(refiner, syn)
    real_images, _ = _first(real, count)

    out: dict[str, Any] = {
        "run": str(run),
        "synthetic": str(synthetic),
        "real": str(real),
        "count": int(len(syn)),
        "seed": seed,
    }
    for name, fake in (("raw_synthetic", syn), ("refined", ref)):
        c = c2st(real_images, fake, seed=seed, min_steps=min_steps)
        k = kid(real_images, fake, seed=seed, subset_size=min(1000, len(fake), len(real_images)))
        out[f"c2st_accuracy_{name}"] = c["c2st_accuracy"]
        out[f"c2st_ci95_{name}"] = c["ci95"]
        out[f"kid_{name}"] = k["kid"]
    out["c2st_accuracy"] = out["c2st_accuracy_refined"]
    out["kid"] = out["kid_refined"]

    gaze = labels.get("gaze")
    if gaze is not None:
        estimator = None if gaze_estimator is None else load_gaze_estimator(gaze_estimator)
        out["preservation"] = preservation(
            syn,
            ref,
            gaze,
            estimator=estimator,
            seed=seed,
            train_kwargs={"epochs": epochs, "width": 0.5},
        )
        if gaze_estimator is not None:
            out["preservation"]["gaze_estimator"] = str(gaze_estimator)
    if test is not None:
        test_images, test_labels = _first(test, 10**9)
        if "gaze" not in test_labels or gaze is None:
            raise SimganError(
                f"{test}: gaze evaluation needs gaze labels in the test set and in {synthetic}"
            )
        for name, images in (("raw_synthetic", syn), ("refined", ref)):
            model = train_gaze_estimator(images, gaze, epochs=epochs, seed=seed)
            res = evaluate_gaze(model, test_images, test_labels["gaze"])
            out[f"gaze_{name}"] = res
        out["mean_angular_error_deg"] = out["gaze_refined"]["mean_angular_error_deg"]
    if write:
        with atomic_path(run / "metrics.json", overwrite=True) as tmp:
            tmp.write_text(json.dumps(out, indent=2, default=float))
    return out
