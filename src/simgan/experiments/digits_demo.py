"""The built-in demos: S+U learning end to end with nothing downloaded.

Eyes (`simgan demo eyes --real PATH`): the built-in eye simulator against the user's real eye
images; half of the real images train the refiner (unlabeled), the other half score realism
(a classifier two-sample test: 50% = indistinguishable) for raw and refined synthetic eyes.

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
from simgan.experiments.budgets import EYES_CPU_BUDGET
from simgan.training.run_dir import new_run_dir
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
    from simgan.training import train

    say = print if echo else (lambda *a, **k: None)
    folder = new_run_dir(out_root, "demo-digits", subdirs=())
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
    rows = [
        ("classifier trained on raw synthetic digits", r["accuracy_raw_synthetic"]),
        ("classifier trained on REFINED synthetic digits", r["accuracy_refined_synthetic"]),
        ("ceiling: trained on real digits (with labels)", r["accuracy_real_trained"]),
        ("share of the gap closed by refinement", r["gap_closed"]),
    ]
    lines = ["", f"Accuracy on {r['test_count']} real handwritten digits nothing was trained on:"]
    lines += [f"  {name:<48}{100 * value:5.1f}%" for name, value in rows]
    lines.append(
        f"Pictures: {folder / 'synthetic_refined_real.png'} (rows: synthetic, refined, real) "
        f"and {Path(r['run']) / 'samples'}"
    )
    return "\n".join(lines)


# -- eyes ---------------------------------------------------------------------------------------


def import_real_eyes(path: str | os.PathLike, out: Path, size: tuple[int, int]) -> Path:
    """A dataset file of real eyes from a .h5 dataset file, an .npz or a folder of images."""
    from simgan.data.importers.folder import import_folder
    from simgan.data.importers.npz import import_npz
    from simgan.errors import SimganError

    path = Path(path)
    if path.is_dir() and len(npz := sorted(path.glob("*.npz"))) == 1:
        path = npz[0]  # a folder holding one .npz array file, as ../shared/data/real does
    if path.is_dir():
        import_folder(path, out, size=size, domain="real")
    elif path.suffix.lower() == ".npz":
        import_npz(path, out, size=size, domain="real")
    elif path.suffix.lower() in (".h5", ".hdf5"):
        return path
    elif not path.exists():
        raise SimganError(f"{path}: no such file or folder")
    else:
        raise SimganError(
            f"{path}: expected a simgan dataset file (.h5), an .npz with an 'images' array or a "
            "folder of images; for other formats run 'simgan import ...' first"
        )
    return out


def run_eyes_demo(
    real: str | os.PathLike,
    out_root: str | os.PathLike = "runs",
    *,
    count: int = 20000,
    size: tuple[int, int] = (35, 55),
    seed: int = 0,
    overrides: list[str] | tuple[str, ...] = (),
    echo: bool = True,
) -> dict[str, Any]:
    """Simulated eyes refined towards `real`; realism of raw vs refined on held-out real eyes."""
    import torch

    from simgan.data.dataset import DatasetReader
    from simgan.data.eyes import write_synthetic_eyes
    from simgan.evaluate.realism import c2st
    from simgan.refine import load_refiner, refine_file
    from simgan.training import train

    say = print if echo else (lambda *a, **k: None)
    folder = new_run_dir(out_root, "demo-eyes", subdirs=())
    real_file = import_real_eyes(real, folder / "real_all.h5", size)
    with DatasetReader(real_file) as r:
        real_images = r.load().images
    h, w = real_images.shape[1:3]
    first, second = split_real(real_images, np.zeros(len(real_images)), seed)
    real_path = write_dataset(
        folder / "real_train.h5",
        real_images[first],
        attrs={"domain": "real", "source": f"{real} (half A)"},
    )
    say(
        f"[1/4] {len(real_images)} real eyes {h}x{w} ({len(first)} to train, {len(second)} to "
        f"score); rendering {count} synthetic eyes -> {folder}"
    )
    syn_path = write_synthetic_eyes(folder / "synthetic.h5", count, seed=seed, size=(h, w))

    budget = () if torch.cuda.is_available() else EYES_CPU_BUDGET
    cfg = load_config("eyes", [f"seed={seed}", *budget, *overrides])
    say(f"[2/4] training the refiner ({cfg.total_steps} steps, batch {cfg.train.batch_size})")
    run = train(cfg, syn_path, real_path, folder / "runs", echo=echo)

    say("[3/4] refining the synthetic eyes (gaze labels untouched)")
    refiner, _, channels = load_refiner(run)
    refined_path = folder / "refined.h5"
    refine_file(refiner, syn_path, refined_path, channels=channels, refined_by=str(run))
    with DatasetReader(syn_path) as a, DatasetReader(refined_path) as b:
        n = min(len(a), 4 * len(second))
        synthetic, refined = a.read(0, n, labels=False)[0], b.read(0, n, labels=False)[0]

    say("[4/4] realism: can a fresh classifier tell them from held-out real eyes? (50% = no)")
    held_out = real_images[second]
    results = {
        "c2st_raw_synthetic": c2st(held_out, synthetic, seed=seed)["c2st_accuracy"],
        "c2st_refined": c2st(held_out, refined, seed=seed)["c2st_accuracy"],
        "real_count": int(len(real_images)),
        "synthetic_count": int(count),
        "seed": seed,
        "run": str(run),
    }
    grid = np.concatenate([synthetic[:8], refined[:8], held_out[:8]])
    save_png(make_grid(grid, ncol=8), folder / "synthetic_refined_real.png", scale=4)
    with atomic_path(folder / "results.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    say("")
    say(f"Two-sample test accuracy against {len(second)} held-out real eyes (50% = cannot tell):")
    say(f"  raw synthetic eyes      {100 * results['c2st_raw_synthetic']:5.1f}%")
    say(f"  refined synthetic eyes  {100 * results['c2st_refined']:5.1f}%")
    say(
        f"Pictures: {folder / 'synthetic_refined_real.png'} (rows: synthetic, refined, real) "
        f"and {Path(run) / 'samples'}"
    )
    return {**results, "folder": str(folder)}
