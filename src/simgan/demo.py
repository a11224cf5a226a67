"""The built-in demos: S+U learning end to end with nothing downloaded.

Digits (the default): synthetic digits rendered from matplotlib's DejaVu fonts are refined
towards scikit-learn's REAL handwritten digits, then a classifier trained on raw synthetic and
one trained on refined synthetic are scored on real digits. The real digits are split in two
halves: the refiner sees one half WITHOUT labels; accuracies are measured on the other half,
which nothing was trained on. A classifier trained on the first half's labels gives the
ceiling (what real labels would buy).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from simgan.atomic import atomic_path
from simgan.config import load_config
from simgan.data.dataset import write_dataset
from simgan.run_dir import new_run_dir
from simgan.viz import make_grid, save_png


def digit_classifier_accuracy(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    seed: int = 0,
) -> float:
    """Accuracy of a logistic regression on pixels (the benchmark's small classifier)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def features(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1).astype(np.float64) / 255.0

    clf = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, C=0.1, random_state=seed)
    )
    clf.fit(features(train_images), train_labels)
    return float((clf.predict(features(test_images)) == test_labels).mean())


def split_real(images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the two halves of the real set (refiner's unlabeled half, test half)."""
    order = np.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    return np.sort(order[:half]), np.sort(order[half:])


def run_digits_demo(
    out_root: str | os.PathLike = "runs",
    *,
    count: int = 20000,
    seed: int = 0,
    overrides: list[str] | tuple[str, ...] = (),
    echo: bool = True,
) -> dict[str, Any]:
    """Render, train, refine, score. Returns the results (also saved as results.json)."""
    from simgan.data.digits import load_real_digits, render_digits
    from simgan.refine import load_refiner, refine_array
    from simgan.train import train

    say = print if echo else (lambda *a, **k: None)
    folder = new_run_dir(out_root, "demo-digits")
    say(f"[1/4] rendering {count} synthetic digits and loading the real ones -> {folder}")
    syn_images, syn_labels = render_digits(count, seed=seed)
    real_images, real_labels = load_real_digits()
    unlabeled, test = split_real(real_images, real_labels, seed)
    syn_path = write_dataset(
        folder / "synthetic.h5",
        syn_images,
        {"label": syn_labels},
        {"domain": "synthetic", "source": "simgan digits (DejaVu fonts)"},
    )
    real_path = write_dataset(
        folder / "real_unlabeled.h5",
        real_images[unlabeled],
        attrs={"domain": "real", "source": "sklearn load_digits, half A, labels dropped"},
    )

    cfg = load_config("digits", [f"seed={seed}", *overrides])
    say(f"[2/4] training the refiner ({cfg.total_steps} steps, config digits)")
    run = train(cfg, syn_path, real_path, folder / "runs", echo=echo)

    say("[3/4] refining the synthetic digits (labels untouched)")
    refiner, _, _ = load_refiner(run)
    refined = refine_array(refiner, syn_images)
    write_dataset(
        folder / "refined.h5",
        refined,
        {"label": syn_labels},
        {"domain": "refined", "source": str(syn_path), "refined_by": str(run)},
    )

    say("[4/4] training the same classifier on each set, testing on unseen real digits")
    x_test, y_test = real_images[test], real_labels[test]
    results = {
        "accuracy_raw_synthetic": digit_classifier_accuracy(
            syn_images, syn_labels, x_test, y_test, seed
        ),
        "accuracy_refined_synthetic": digit_classifier_accuracy(
            refined, syn_labels, x_test, y_test, seed
        ),
        "accuracy_real_trained": digit_classifier_accuracy(
            real_images[unlabeled], real_labels[unlabeled], x_test, y_test, seed
        ),
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

    grid = np.concatenate([syn_images[:16], refined[:16], real_images[unlabeled][:16]])
    save_png(make_grid(grid, ncol=16), folder / "synthetic_refined_real.png", scale=8)
    with atomic_path(folder / "results.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    say(format_results(results, folder))
    return {**results, "folder": str(folder)}


def format_results(results: dict[str, Any], folder: Path) -> str:
    r = results
    return "\n".join(
        [
            "",
            f"Accuracy on {r['test_count']} real handwritten digits nothing was trained on:",
            f"  classifier trained on raw synthetic digits      {100 * r['accuracy_raw_synthetic']:5.1f}%",
            f"  classifier trained on REFINED synthetic digits  {100 * r['accuracy_refined_synthetic']:5.1f}%",
            f"  ceiling: trained on real digits (with labels)   {100 * r['accuracy_real_trained']:5.1f}%",
            f"  share of the gap closed by refinement           {100 * r['gap_closed']:5.1f}%",
            f"Pictures: {folder / 'synthetic_refined_real.png'} (rows: synthetic, refined, real) and "
            f"{Path(r['run']) / 'samples'}",
        ]
    )
