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
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from simgan.atomic import atomic_path
from simgan.config import load_config
from simgan.data.dataset import write_dataset
from simgan.data.digits import load_real_digits, render_digits
from simgan.evaluate.digit_classifiers import (
    DigitCNN,
    fit_classifier,
    predict_digits,
    save_digit_classifier,
    train_digit_cnn,
)
from simgan.experiments.pipeline import (
    pictures_line,
    refine_with,
    save_results,
    speaker,
    train_refiner,
    write_training_sets,
)
from simgan.report.plots import bars_png
from simgan.training.run_dir import new_run_dir

SPLIT_SEED = 0
CLASSIFIERS = ("logistic", "svm", "knn", "cnn")
SETS = ("raw_synthetic", "refined_synthetic", "real_trained")
# The demo's recipe, chosen on the validation split (docs/evaluation.md, seeds 0-2): the
# semantic-consistency term at weight CONSISTENCY with a whole-digit discriminator and
# lambda_reg 0.1. A whole-digit D WITHOUT the term rewrites digits into other classes, so
# with consistency 0 the demo trains the digits preset as it is (the local D, lambda 0.5).
CONSISTENCY = 1.0  # weight of the semantic-consistency term (0 = off)
CONSISTENT_RECIPE = ("model.discriminator=whole", "loss.lambda_reg=0.1")
LABEL_MODEL = "label_model.pt"  # the frozen classifier of the consistency term
BARS = "accuracy_bars.png"
PER_CLASS = 3  # digits of each class in the picture, per row


def consistency_overrides(
    folder: Path, images: np.ndarray, labels: np.ndarray, seed: int, weight: float
) -> tuple[list[str], DigitCNN]:
    """Train a DigitCNN on the synthetic digits (their labels only, never a real label),
    save it as folder/LABEL_MODEL; -> (the config overrides that make it the refiner's
    frozen semantic-consistency classifier with `weight`, the CNN itself: the same network
    fit_classifier("cnn") trains on the raw synthetic digits with this seed)."""
    path = folder / LABEL_MODEL
    model = train_digit_cnn(images, labels, seed=seed)
    save_digit_classifier(model, path)
    return [f"loss.label_model={path}", f"loss.lambda_label={weight}"], model


def score_classifiers(
    classifiers: Sequence[str],
    train_sets: Mapping[str, tuple[np.ndarray, np.ndarray]],
    images: np.ndarray,
    labels: np.ndarray,
    splits: Mapping[str, np.ndarray],
    seed: int,
    fitted: Mapping[tuple[str, str], Callable[[np.ndarray], np.ndarray]] | None = None,
) -> dict[str, float]:
    """SPLIT_CLF_SET accuracies (each classifier trained once per set, scored on the real
    digits of every split) and SPLIT_CLF_gap_closed = (refined - raw) / (real - raw).
    `fitted`: predict functions already trained, by (classifier, set), used as they are."""
    results: dict[str, float] = {}
    for clf in classifiers:
        for name, (x, y) in train_sets.items():
            known = (fitted or {}).get((clf, name))
            predict = known or fit_classifier(clf, x, y, seed)
            for split, idx in splits.items():
                results[f"{split}_{clf}_{name}"] = float(
                    (predict(images[idx]) == labels[idx]).mean()
                )
        for split in splits:
            raw, ref, top = (results[f"{split}_{clf}_{k}"] for k in SETS)
            results[f"{split}_{clf}_gap_closed"] = (
                (ref - raw) / (top - raw) if top != raw else float("nan")
            )
    return results


def class_rows(
    synthetic: np.ndarray,
    refined: np.ndarray,
    labels: np.ndarray,
    real: np.ndarray,
    real_labels: np.ndarray,
    per_class: int = PER_CLASS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The picture's three rows (synthetic, refined, real): `per_class` digits of every class
    side by side, a blank between classes; the refined row holds the synthetic row's digits
    refined. The real digits' labels only place them in the picture."""
    blank = np.full((1, *synthetic.shape[1:]), 255, np.uint8)
    rows: list[list[np.ndarray]] = [[], [], []]
    for c in range(int(labels.max()) + 1):
        syn_idx = np.flatnonzero(labels == c)[:per_class]
        real_idx = np.flatnonzero(real_labels == c)[:per_class]
        for row, part in zip(
            rows, (synthetic[syn_idx], refined[syn_idx], real[real_idx]), strict=True
        ):
            row += [part, np.repeat(blank, per_class - len(part), 0), blank]
    return tuple(np.concatenate(r[:-1]) for r in rows)  # type: ignore[return-value]


def accuracy_bars(results: Mapping[str, Any]) -> bytes:
    """PNG bytes: test accuracy per classifier, one bar per training set."""
    groups = {c: [results[f"test_{c}_{k}"] for k in SETS] for c in results["classifiers"]}
    title = f"{results['split_sizes']['test']} real test digits, seed {results['seed']}"
    return bars_png(groups, ("raw synthetic", "refined synthetic", "real (ceiling)"), title)


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
    consistency: float = CONSISTENCY,
) -> dict[str, Any]:
    """Render, train, refine, score. Returns the results (also saved as results.json).

    consistency > 0: the refiner's semantic-consistency term (loss.lambda_label) with a
    frozen DigitCNN trained on the synthetic digits and their labels (folder/LABEL_MODEL),
    and CONSISTENT_RECIPE before `overrides`; 0: the digits preset alone."""
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

    fitted = {}
    if consistency:
        say(
            f"      semantic consistency {consistency}: a digit CNN trained on the synthetic "
            "labels keeps each refined digit its class"
        )
        sets_cnn, cnn = consistency_overrides(folder, syn_images, syn_labels, seed, consistency)
        overrides = [*CONSISTENT_RECIPE, *sets_cnn, *overrides]
        fitted[("cnn", "raw_synthetic")] = partial(predict_digits, cnn)
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
    train_sets = {
        "raw_synthetic": (syn_images, syn_labels),
        "refined_synthetic": (refined, syn_labels),
        "real_trained": (real_images[unlabeled], real_labels[unlabeled]),
    }
    splits = {"val": val, "test": test}
    results = score_classifiers(
        classifiers, train_sets, real_images, real_labels, splits, seed, fitted
    )
    # the headline figures: the logistic regression on the test split
    for k in (*SETS, "gap_closed"):
        results[f"accuracy_{k}" if k != "gap_closed" else k] = results[f"test_logistic_{k}"]
    results.update(
        split_sizes={"unlabeled": len(unlabeled), "validation": len(val), "test": len(test)},
        classifiers=list(classifiers),
        consistency=float(consistency),
        test_count=int(len(test)),
        synthetic_count=int(count),
        seed=seed,
        run=str(run),
    )

    rows = class_rows(syn_images, refined, syn_labels, *train_sets["real_trained"])
    save_results(folder, results, rows, ncol=len(rows[0]), scale=6)
    with atomic_path(folder / BARS, overwrite=True) as tmp:
        tmp.write_bytes(accuracy_bars(results))
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
    lines.append(f"Accuracy bars: {folder / BARS}")
    return "\n".join(lines)
