"""`simgan demo eyes --real PATH`: the built-in eye simulator against the user's real eyes.

Half of the real images train the refiner (unlabeled), the other half score realism (a
classifier two-sample test: 50% = indistinguishable) for raw and refined synthetic eyes. On
a CPU the refiner trains on the budget of simgan.experiments.budgets.EYES_CPU_BUDGET.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from simgan.config import load_config
from simgan.data.dataset import DatasetReader, write_dataset
from simgan.data.eyes import write_synthetic_eyes
from simgan.data.importers.folder import import_folder
from simgan.data.importers.npz import import_npz
from simgan.errors import SimganError
from simgan.evaluate.realism import c2st
from simgan.experiments.budgets import EYES_CPU_BUDGET
from simgan.experiments.pipeline import (
    pictures_line,
    save_results,
    speaker,
    split_halves,
    train_refiner,
)
from simgan.refine import load_refiner, refine_file
from simgan.training.run_dir import new_run_dir


def import_real_eyes(path: str | os.PathLike, out: Path, size: tuple[int, int]) -> Path:
    """A dataset file of real eyes from a .h5 dataset file, an .npz or a folder of images."""
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
    say = speaker(echo)
    folder = new_run_dir(out_root, "demo-eyes", subdirs=())
    real_file = import_real_eyes(real, folder / "real_all.h5", size)
    with DatasetReader(real_file) as r:
        real_images = r.load().images
    h, w = real_images.shape[1:3]
    first, second = split_halves(len(real_images), seed)
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
    run = train_refiner(cfg, (syn_path, real_path), folder, echo=echo)

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
    save_results(folder, results, (synthetic[:8], refined[:8], held_out[:8]), ncol=8, scale=4)
    say("")
    say(f"Two-sample test accuracy against {len(second)} held-out real eyes (50% = cannot tell):")
    say(f"  raw synthetic eyes      {100 * results['c2st_raw_synthetic']:5.1f}%")
    say(f"  refined synthetic eyes  {100 * results['c2st_refined']:5.1f}%")
    say(pictures_line(folder, run))
    return {**results, "folder": str(folder)}
