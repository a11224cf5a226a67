"""`simgan demo` (digits, the default): S+U learning end to end with nothing downloaded.

Synthetic digits rendered from matplotlib's DejaVu fonts are refined towards scikit-learn's
REAL handwritten digits, then a classifier trained on raw synthetic and one trained on
refined synthetic are scored on real digits. The real digits are split in two halves: the
refiner sees one half WITHOUT labels; accuracies are measured on the other half, which
nothing was trained on. A classifier trained on the first half's labels gives the ceiling
(what real labels would buy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from simgan.config import load_config
from simgan.data.dataset import write_dataset
from simgan.data.digits import load_real_digits, render_digits
from simgan.experiments.pipeline import (
    pictures_line,
    refine_with,
    save_results,
    speaker,
    split_halves,
    train_refiner,
    write_training_sets,
)
from simgan.training.run_dir import new_run_dir


def digit_classifier_accuracy(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    seed: int = 0,
) -> float:
    """Accuracy of a logistic regression on pixels (the benchmark's small classifier)."""

    def features(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1).astype(np.float64) / 255.0

    clf = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, C=0.1, random_state=seed)
    )
    clf.fit(features(train_images), train_labels)
    return float((clf.predict(features(test_images)) == test_labels).mean())


def run_digits_demo(
    out_root: str | os.PathLike = "runs",
    *,
    count: int = 20000,
    seed: int = 0,
    overrides: list[str] | tuple[str, ...] = (),
    echo: bool = True,
) -> dict[str, Any]:
    """Render, train, refine, score. Returns the results (also saved as results.json)."""
    say = speaker(echo)
    folder = new_run_dir(out_root, "demo-digits", subdirs=())
    say(f"[1/4] rendering {count} synthetic digits and loading the real ones -> {folder}")
    syn_images, syn_labels = render_digits(count, seed=seed)
    real_images, real_labels = load_real_digits()
    unlabeled, test = split_halves(len(real_images), seed)
    sets = write_training_sets(
        folder,
        syn_images,
        {"label": syn_labels},
        real_images[unlabeled],
        synthetic_attrs={"domain": "synthetic", "source": "simgan digits (DejaVu fonts)"},
        real_name="real_unlabeled.h5",
        real_attrs={"domain": "real", "source": "sklearn load_digits, half A, labels dropped"},
    )

    cfg = load_config("digits", [f"seed={seed}", *overrides])
    say(f"[2/4] training the refiner ({cfg.total_steps} steps, config digits)")
    run = train_refiner(cfg, sets, folder, echo=echo)

    say("[3/4] refining the synthetic digits (labels untouched)")
    refined = refine_with(run, syn_images)
    write_dataset(
        folder / "refined.h5",
        refined,
        {"label": syn_labels},
        {"domain": "refined", "source": str(sets[0]), "refined_by": str(run)},
    )

    say("[4/4] training the same classifier on each set, testing on unseen real digits")
    x_test, y_test = real_images[test], real_labels[test]

    def accuracy(images: np.ndarray, labels: np.ndarray) -> float:
        return digit_classifier_accuracy(images, labels, x_test, y_test, seed)

    results = {
        "accuracy_raw_synthetic": accuracy(syn_images, syn_labels),
        "accuracy_refined_synthetic": accuracy(refined, syn_labels),
        "accuracy_real_trained": accuracy(real_images[unlabeled], real_labels[unlabeled]),
        "test_count": int(len(test)),
        "synthetic_count": int(count),
        "seed": seed,
        "run": str(run),
    }
    raw, ref, top = (
        results[k]
        for k in ("accuracy_raw_synthetic", "accuracy_refined_synthetic", "accuracy_real_trained")
    )
    results["gap_closed"] = (ref - raw) / (top - raw) if top != raw else float("nan")

    rows = (syn_images[:16], refined[:16], real_images[unlabeled][:16])
    save_results(folder, results, rows, ncol=16, scale=8)
    say(format_results(results, folder))
    return {**results, "folder": str(folder)}


def format_results(results: dict[str, Any], folder: Path) -> str:
    """The demo's closing lines: the three accuracies, the share of the gap closed, pictures."""
    r = results
    rows = [
        ("classifier trained on raw synthetic digits", r["accuracy_raw_synthetic"]),
        ("classifier trained on REFINED synthetic digits", r["accuracy_refined_synthetic"]),
        ("ceiling: trained on real digits (with labels)", r["accuracy_real_trained"]),
        ("share of the gap closed by refinement", r["gap_closed"]),
    ]
    lines = ["", f"Accuracy on {r['test_count']} real handwritten digits nothing was trained on:"]
    lines += [f"  {name:<48}{100 * value:5.1f}%" for name, value in rows]
    lines.append(pictures_line(folder, r["run"]))
    return "\n".join(lines)
