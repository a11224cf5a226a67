"""The steps the demos and the quality benchmarks share: halve the real set, write the
training sets, train a refiner and refine with it, save the results and their picture."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simgan.atomic import atomic_path
from simgan.config import Config, load_config
from simgan.data.dataset import DatasetReader, write_dataset
from simgan.errors import SimganError
from simgan.evaluate.gaze_estimation import save_gaze_estimator
from simgan.evaluate.preservation_estimator import train_preservation_estimator
from simgan.refine import load_refiner, refine_array
from simgan.training import train
from simgan.viz import label_rows, make_grid, save_png

PICTURE = "synthetic_refined_real.png"  # rows: synthetic, refined, real
PICTURE_ROWS = ("synthetic", "refined", "real")


def quiet(*args: Any, **kwargs: Any) -> None:
    """Print nothing: the progress lines of a run without echo."""


def speaker(echo: bool) -> Callable[..., None]:
    """`print` when echo, else a function that prints nothing."""
    return print if echo else quiet


def split_halves(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of two random halves of `count` real images (train half, test half)."""
    order = np.random.default_rng(seed).permutation(count)
    half = count // 2
    return np.sort(order[:half]), np.sort(order[half:])


def write_training_sets(
    folder: Path,
    synthetic: np.ndarray,
    labels: Mapping[str, np.ndarray],
    real: np.ndarray,
    *,
    real_name: str,
    real_attrs: Mapping[str, Any],
    synthetic_attrs: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """folder/synthetic.h5 (with labels) and folder/real_name (unlabeled): (synthetic, real)."""
    synthetic_path = write_dataset(folder / "synthetic.h5", synthetic, labels, synthetic_attrs)
    real_path = write_dataset(folder / real_name, real, attrs=real_attrs)
    return synthetic_path, real_path


def train_refiner(cfg: Config, sets: tuple[Path, Path], folder: Path, *, echo: bool) -> Path:
    """Train a refiner on the (synthetic, real) dataset files; its run folder is made right
    inside `folder` (folder/00000-PRESET, beside the datasets), not in a runs/ of its own."""
    synthetic_path, real_path = sets
    return train(cfg, synthetic_path, real_path, folder, echo=echo)


def require_label_weight(overrides: Sequence[str]) -> None:
    """Refuse, before any work, a --label-model run whose eyes config (read as the run will
    read it, the estimator's path not known yet) gives the label term no positive weight:
    the frozen estimator it would train would go unused."""
    planned = [*overrides, "loss.label_model=to-be-trained.pt"]
    if not load_config("eyes", planned).loss.lambda_label > 0:
        raise SimganError(
            "--label-model trains a frozen gaze estimator that only a positive weight uses; "
            "add --set loss.lambda_label=W (e.g. 10)"
        )


def gaze_label_model(synthetic: Path, path: Path, seed: int) -> tuple[Path, float | None]:
    """The frozen gaze estimator of the label-consistency term (loss.label_model): trained
    on the synthetic eyes' own gaze labels with the preservation estimator's recipe, saved
    at `path`; kept when `path` exists. -> (path, its validation error in degrees, or None
    when it was already there)."""
    if path.is_file():
        return path, None
    with DatasetReader(synthetic) as r:
        images, labels = r.read()
    model, info = train_preservation_estimator(images, labels["gaze"], seed=seed)
    save_gaze_estimator(model, path, overwrite=True)
    return path, float(info["val_error_deg"])


def refine_with(run: Path, images: np.ndarray) -> np.ndarray:
    """uint8 images refined by the trained refiner of `run`."""
    refiner, _, _ = load_refiner(run)
    return refine_array(refiner, images)


def save_results(
    folder: Path,
    results: Mapping[str, Any],
    rows: Sequence[np.ndarray],
    *,
    ncol: int,
    scale: int,
    names: Sequence[str] = PICTURE_ROWS,
) -> None:
    """folder/PICTURE and folder/results.json. PICTURE has one grid row per entry of `rows`
    (at most ncol images each), named in a left margin by `names`."""
    rows = [r[:ncol] for r in rows]
    # a short row is padded with blank images, so that each set keeps its own grid row
    pad = [np.full((ncol - len(r), *r.shape[1:]), 255, np.uint8) for r in rows]
    images = np.concatenate([x for r, p in zip(rows, pad, strict=True) for x in (r, p)])
    picture = label_rows(make_grid(images, ncol=ncol), names, images.shape[1] + 2)
    save_png(picture, folder / PICTURE, scale=scale)
    with atomic_path(folder / "results.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(results, indent=2))


def pictures_line(folder: Path, run: str | Path) -> str:
    """The closing line of a demo: where its pictures are."""
    return (
        f"Pictures: {folder / PICTURE} (rows: synthetic, refined, real) and {Path(run) / 'samples'}"
    )
