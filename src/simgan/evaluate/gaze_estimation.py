"""Train and score the paper's gaze estimator: the downstream test of (refined) synthetic data.

Recipe (the paper does not give one for its estimator; this is ours, fixed and seeded):
Adam (lr 1e-3, betas 0.9/0.999) with a cosine decay to zero over a fixed number of epochs,
batch 128, the paper's Euclidean loss on unit gaze vectors, and light photometric
augmentation (per-image brightness and contrast jitter). No flips: a mirrored eye needs its
gaze x negated (simgan.data.gaze_conventions.mirror_gaze), and which eyes to mirror is the
dataset's choice.
With `val_fraction > 0` a random share of the training set is held out and the weights of
the epoch with the lowest validation error are returned.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from simgan.atomic import atomic_path
from simgan.data.gaze_conventions import angular_error_deg
from simgan.errors import SimganError
from simgan.evaluate._common import (
    as_gaze,
    as_images,
    read_model_file,
    seeded,
    split_indices,
)
from simgan.images import convert_channels, resize_images, to_network
from simgan.models.gaze_estimator import GazeEstimator, gaze_loss

WITHIN_DEG = 7.0  # the paper reports the share of test eyes within 7 degrees


def _augment(x: torch.Tensor, strength: float) -> torch.Tensor:
    """Per-image contrast (x0.75..1.25) and brightness (+-0.15 of the [-1, 1] range) jitter."""
    n = x.shape[0]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 1.0 + strength * (torch.rand(n, 1, 1, 1, device=x.device) * 0.5 - 0.25)
    bright = strength * (torch.rand(n, 1, 1, 1, device=x.device) * 0.3 - 0.15)
    return ((x - mean) * contrast + mean + bright).clamp_(-1.0, 1.0)


def train_gaze_estimator(
    images: np.ndarray,
    gaze: np.ndarray,
    *,
    epochs: int = 20,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "cpu",
    val_fraction: float = 0.0,
    progress: bool = False,
    width: float = 1.0,
    augment: float = 1.0,
    min_steps: int = 0,
) -> GazeEstimator:
    """Train a GazeEstimator on uint8 images (N, H, W, C) with unit gaze labels (N, 3).

    The network is built for the images' own (H, W, C). `augment` scales the photometric
    jitter (0 turns it off). `epochs` is raised, when needed, so that training takes at least
    `min_steps` optimizer steps: a few epochs of a small set are a few dozen steps, too few
    for the estimator to learn gaze, and its error would then measure the training noise.
    The returned model is in eval mode; `model.history` holds one dict per epoch (train
    loss, and validation error when val_fraction > 0).
    """
    images = as_images(images, "training images")
    if images.shape[-1] == 4:
        images = convert_channels(images, 3)
    gaze = as_gaze(gaze, len(images), "training gaze")
    if epochs < 1 or batch_size < 1 or not lr > 0 or min_steps < 0:
        raise SimganError(
            f"epochs ({epochs}), batch_size ({batch_size}), lr ({lr}) must be > 0 "
            f"and min_steps ({min_steps}) >= 0"
        )
    if not 0.0 <= val_fraction < 1.0:
        raise SimganError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    train_idx, val_idx = split_indices(len(images), val_fraction, rng)
    if len(train_idx) == 0:
        raise SimganError("no training images left after the validation split")

    with seeded(seed, device):
        model = GazeEstimator(images.shape[-1], images.shape[1:3], width=width).to(device)
        x_all = torch.from_numpy(images[train_idx]).to(device)  # uint8 (N, H, W, C)
        y_all = torch.from_numpy(gaze[train_idx]).to(device)
        steps_per_epoch = math.ceil(len(train_idx) / batch_size)
        epochs = max(epochs, math.ceil(min_steps / steps_per_epoch))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps_per_epoch)
        best = (math.inf, None)
        model.history = []
        for epoch in range(epochs):
            model.train()
            order = torch.from_numpy(rng.permutation(len(train_idx))).to(device)
            total = torch.zeros((), device=device)  # summed on the device: no sync per step
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                x = to_network(x_all[idx])
                if augment > 0:
                    x = _augment(x, augment)
                loss = gaze_loss(model(x), y_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.detach() * len(idx)
            entry: dict[str, float] = {"epoch": epoch + 1, "loss": float(total) / len(train_idx)}
            if len(val_idx):
                err = float(
                    angular_error_deg(predict_gaze(model, images[val_idx]), gaze[val_idx]).mean()
                )
                entry["val_mean_angular_error_deg"] = err
                if err < best[0]:
                    best = (err, {k: v.detach().clone() for k, v in model.state_dict().items()})
            model.history.append(entry)
            if progress:
                extra = "".join(f" {k} {v:.4g}" for k, v in entry.items() if k.startswith("val"))
                print(
                    f"gaze estimator epoch {epoch + 1}/{epochs} loss {entry['loss']:.4g}{extra}",
                    file=sys.stderr,
                    flush=True,
                )
        if best[1] is not None:
            model.load_state_dict(best[1])
    return model.eval()


@torch.no_grad()
def predict_gaze(model: GazeEstimator, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """uint8 images (N, H, W, C) -> float32 (N, 3) unit gaze vectors.

    Images whose size or channels differ from the model's are converted and resized first
    (e.g. 36x60 MPIIGaze patches for a model trained on 35x55 synthetic eyes).
    """
    images = as_images(images)
    images = convert_channels(images, model.channels)
    images = resize_images(images, model.input_size)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [
        model(to_network(images[s : s + batch_size], device)).float().cpu()
        for s in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return torch.cat(out).numpy().astype(np.float32)


def error_summary(errors_deg: np.ndarray) -> dict[str, float | int]:
    """Mean, median and share within 7 degrees of per-image angular errors (degrees)."""
    e = np.asarray(errors_deg, dtype=np.float64)
    return {
        "mean_angular_error_deg": float(e.mean()),
        "median_angular_error_deg": float(np.median(e)),
        "within_7deg": float((e <= WITHIN_DEG).mean()),
        "count": int(e.size),
    }


def evaluate_gaze(model: GazeEstimator, images: np.ndarray, gaze: np.ndarray) -> dict[str, Any]:
    """Angular error of the model's predictions against unit gaze labels (N, 3)."""
    images = as_images(images, "test images")
    gaze = as_gaze(gaze, len(images), "test gaze")
    return error_summary(angular_error_deg(predict_gaze(model, images), gaze))


def leave_one_person_out(
    train_fn: Callable[[np.ndarray, np.ndarray], GazeEstimator],
    images: np.ndarray,
    gaze: np.ndarray,
    subject: np.ndarray,
) -> dict[str, Any]:
    """MPIIGaze's protocol: for each subject, train on the others and test on that subject.

    train_fn(images, gaze) -> model. The headline mean is the mean of the per-subject means
    (each person counts once, as in MPIIGaze papers); median and within-7-degree share are
    over all test images. per_subject maps str(subject id) to its error summary.
    """
    images = as_images(images, "images")
    gaze = as_gaze(gaze, len(images))
    subject = np.asarray(subject).reshape(-1)
    if subject.shape != (len(images),):
        raise SimganError(f"subject: {subject.shape[0]} ids for {len(images)} images")
    ids = np.unique(subject)
    if len(ids) < 2:
        raise SimganError(
            f"leave-one-person-out needs at least 2 subjects, the data has {len(ids)}"
        )
    per_subject: dict[str, dict] = {}
    errors = []
    for s in ids:
        test = subject == s
        model = train_fn(images[~test], gaze[~test])
        e = angular_error_deg(predict_gaze(model, images[test]), gaze[test])
        per_subject[str(s.item())] = error_summary(e)
        errors.append(e)
    out = error_summary(np.concatenate(errors))
    out["mean_angular_error_deg"] = float(
        np.mean([v["mean_angular_error_deg"] for v in per_subject.values()])
    )
    out["per_subject"] = per_subject
    return out


def per_subject_errors(
    model: GazeEstimator, images: np.ndarray, gaze: np.ndarray, subject: np.ndarray
) -> dict[str, dict]:
    """Error summary of one model on each subject's images: {str(id): summary}."""
    e = angular_error_deg(predict_gaze(model, images), as_gaze(gaze, len(images)))
    subject = np.asarray(subject).reshape(-1)
    return {str(s.item()): error_summary(e[subject == s]) for s in np.unique(subject)}


def save_gaze_estimator(model: GazeEstimator, path: str | os.PathLike, overwrite: bool = False):
    """Write the model's config and weights to `path` atomically (torch.save)."""
    with atomic_path(path, overwrite) as tmp:
        torch.save(
            {"kind": "gaze_estimator", "config": model.config(), "state_dict": model.state_dict()},
            tmp,
        )


def load_gaze_estimator(path: str | os.PathLike, device: str = "cpu") -> GazeEstimator:
    """Rebuild a model written by save_gaze_estimator (weights_only load)."""
    hint = "write one with save_gaze_estimator or 'simgan eval gaze --save-model'"
    blob = read_model_file(path, "gaze estimator", hint, ("gaze_estimator",), device)
    cfg = dict(blob["config"])
    cfg["input_size"] = tuple(cfg["input_size"])
    model = GazeEstimator(**cfg).to(device)
    model.load_state_dict(blob["state_dict"])
    return model.eval()
