"""Domain-gap errors over several gaze-estimator seeds: each arm's mean and spread.

One estimator per training set measures the set and one draw of the estimator's own noise
(initialisation, batch order, augmentation); when that noise is as large as the gap, the
gap is not measured. Here every arm trains one estimator per seed, the same seeds for every
arm, so the k-th estimators of the arms differ only in their training images, and the
figures derived from the arms (the gap, the improvement, the share closed) are computed per
seed k and then summarised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from simgan.errors import SimganError
from simgan.evaluate._common import as_gaze, as_images
from simgan.evaluate.domain_gap import gap_closed
from simgan.evaluate.gaze_estimation import evaluate_gaze

ARMS = ("synthetic", "refined", "oracle")


def _spread(values: Sequence[float]) -> dict[str, float | int | None]:
    v = np.array([x for x in values if np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}


def errors_over_estimator_seeds(
    train_sets: Mapping[str, tuple[np.ndarray, np.ndarray]],
    test_images: np.ndarray,
    test_gaze: np.ndarray,
    train_fn: Callable[[np.ndarray, np.ndarray, int], Any],
    seeds: Sequence[int],
) -> dict[str, Any]:
    """Train train_fn(images, gaze, seed) per set and seed; score each on the same test set.

    Returns {name: summary} where summary is the error summary (evaluate_gaze) averaged over
    the seeds, with mean_angular_error_deg the mean over seeds, std_over_estimators its
    population std and per_estimator the per-seed means. With the arms synthetic, refined
    and oracle also: gap_closed (of the arm means, as domain_gap_errors gives it),
    gap_closed_over_estimators, gap_deg (E_syn - E_oracle) and improvement_deg (E_syn -
    E_ref), each {mean, std, n} over the seeds.
    """
    if not seeds:
        raise SimganError("estimator seeds: need at least one")
    test_images = as_images(test_images, "target test images")
    test_gaze = as_gaze(test_gaze, len(test_images), "target test gaze")
    out: dict[str, Any] = {}
    per: dict[str, list[float]] = {}
    for name, (x, g) in train_sets.items():
        runs = [evaluate_gaze(train_fn(x, g, s), test_images, test_gaze) for s in seeds]
        errs = [r["mean_angular_error_deg"] for r in runs]
        per[name] = errs
        out[name] = {
            "mean_angular_error_deg": float(np.mean(errs)),
            "median_angular_error_deg": float(
                np.mean([r["median_angular_error_deg"] for r in runs])
            ),
            "within_7deg": float(np.mean([r["within_7deg"] for r in runs])),
            "count": runs[0]["count"],
            "std_over_estimators": float(np.std(errs)),
            "per_estimator": errs,
            "estimator_seeds": list(seeds),
        }
    if set(ARMS) <= set(train_sets):
        syn, ref, ora = (np.array(per[k]) for k in ARMS)
        out["gap_closed"] = gap_closed(*(out[k]["mean_angular_error_deg"] for k in ARMS))
        out["gap_closed_over_estimators"] = _spread(
            [gap_closed(a, b, c) for a, b, c in zip(syn, ref, ora, strict=True)]
        )
        out["gap_deg"] = _spread(list(syn - ora))
        out["improvement_deg"] = _spread(list(syn - ref))
    return out
