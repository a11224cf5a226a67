"""`simgan demo` (digits, the default): S+U learning end to end with nothing downloaded.

Synthetic digits rendered from matplotlib's DejaVu fonts are refined towards scikit-learn's
REAL handwritten digits, then classifiers trained on raw synthetic and on refined synthetic
digits are scored on real digits. The real digits are split three ways, once, by a fixed
permutation (SPLIT_SEED, the same for every run seed): the refiner sees the first half
WITHOUT labels; a quarter is the labelled validation split, the only data any setting of
the simulator or the training is chosen on; the last quarter is the test split, reported
and never used to choose anything. A classifier trained on the first half's labels gives
the ceiling (what real labels would buy). Every classifier of CLASSIFIERS is trained the
same way on each set; a refinement gain counts where it holds for all of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from simgan.config import load_config
from simgan.data.dataset import write_dataset
from simgan.data.digits import load_real_digits, render_digits
from simgan.evaluate.digit_classifiers import classifier_accuracy
from simgan.experiments.pipeline import (
    pictures_line,
    refine_with,
    save_results,
    speaker,
    train_refiner,
    write_training_sets,
)
from simgan.training.run_dir import new_run_dir

SPLIT_SEED = 0
CLASSIFIERS = ("logistic", "svm", "knn")  # the demo's; "cnn" too in simgan bench digits
SETS = ("raw_synthetic", "refined_synthetic", "real_trained")


def split_real_digits(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted (unlabeled half, validation quarter, test quarter) indices of `count` real
    digits: one fixed permutation (SPLIT_SEED), whatever the run's seed."""
    order = np.random.default_rng(SPLIT_SEED).permutation(count)
    half, quarter = count // 2, count // 4
    parts = order[:half], order[half : half + quarter], order[half + quarter :]
    return tuple(np.sort(p) for p in parts)  # type: ignore[return-value]


def run_digits_demo(
    out_root: str | os.PathLike = "runs",
    *,
    count: int = 20000,
    seed: int = 0,
    overrides: list[str] | tuple[str, ...] = (),
    echo: bool = True,
    classifiers: tuple[str, ...] = CLASSIFIERS,
) -> dict[str, Any]:
    """Render, train, refine, score. Returns the results (also saved as results.json)."""
    say = speaker(echo)
    folder = new_run_dir(out_root, "demo-digits", subdirs=())
    say(f"[1/4] rendering {count} synthetic digits and loading the real ones -> {folder}")
    syn_images, syn_labels = render_digits(count, seed=seed)
    real_images, real_labels = load_real_digits()
    unlabeled, val, test = split_real_digits(len(real_images))
    say(
        f"      real digits: {len(unlabeled)} unlabeled (the refiner's), {len(val)} "
        f"validation, {len(test)} test"
    )
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

    say("[4/4] training the same classifiers on each set, testing on unseen real digits")
    sets = {
        "raw_synthetic": (syn_images, syn_labels),
        "refined_synthetic": (refined, syn_labels),
        "real_trained": (real_images[unlabeled], real_labels[unlabeled]),
    }
    results: dict[str, Any] = {}
    for split, idx in (("val", val), ("test", test)):
        for clf in classifiers:
            for name, (x, y) in sets.items():
                acc = classifier_accuracy(clf, x, y, real_images[idx], real_labels[idx], seed)
                results[f"{split}_{clf}_{name}"] = acc
            raw, ref, top = (results[f"{split}_{clf}_{k}"] for k in SETS)
            results[f"{split}_{clf}_gap_closed"] = (
                (ref - raw) / (top - raw) if top != raw else float("nan")
            )
    # the headline figures: the logistic regression on the test split
    for k in (*SETS, "gap_closed"):
        results[f"accuracy_{k}" if k != "gap_closed" else k] = results[f"test_logistic_{k}"]
    results.update(
        split_sizes={"unlabeled": len(unlabeled), "validation": len(val), "test": len(test)},
        classifiers=list(classifiers),
        test_count=int(len(test)),
        synthetic_count=int(count),
        seed=seed,
        run=str(run),
    )

    rows = (syn_images[:16], refined[:16], real_images[unlabeled][:16])
    save_results(folder, results, rows, ncol=16, scale=8)
    say(format_results(results, folder))
    return {**results, "folder": str(folder)}


def format_results(results: dict[str, Any], folder: Path) -> str:
    """The demo's closing lines: accuracy per classifier (columns) and training set (rows)
    on the test split, the share of the gap closed, the split sizes, pictures."""
    r = results
    clfs = r["classifiers"]
    rows = [
        ("trained on raw synthetic digits", "raw_synthetic"),
        ("trained on REFINED synthetic digits", "refined_synthetic"),
        ("ceiling: trained on real digits (with labels)", "real_trained"),
        ("share of the gap closed by refinement", "gap_closed"),
    ]
    sizes = r["split_sizes"]
    lines = [
        "",
        f"Accuracy on {sizes['test']} real handwritten test digits nothing was trained on or "
        f"chosen on (real digits split {sizes['unlabeled']} unlabeled / "
        f"{sizes['validation']} validation / {sizes['test']} test):",
        f"  {'classifier':<48}" + "".join(f"{c:>10}" for c in clfs),
    ]
    for name, key in rows:
        cells = "".join(f"{100 * r[f'test_{c}_{key}']:9.1f}%" for c in clfs)
        lines.append(f"  {name:<48}{cells}")
    lines.append(pictures_line(folder, r["run"]))
    return "\n".join(lines)
