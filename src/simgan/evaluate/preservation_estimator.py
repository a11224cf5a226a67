"""The gaze estimator of the preservation score: trained to a plateau under appearance jitter.

Preservation asks "does the refined image show the same gaze as its synthetic source?", so
the estimator that reads the gaze must ignore what refinement is allowed to change (tone,
shading, blur, noise, darker lashes) and follow what it must keep (where the iris is). It
trains on synthetic images under `appearance_jitter` (appearance only, no geometric moves)
with the paper's loss and Adam, and a stopping rule instead of a fixed epoch count: every
`eval_every` steps it is scored on a held-out validation share of its synthetic images; when
`patience` checks in a row bring no gain of at least `min_gain` (relative), the learning
rate drops by `lr_drop`, and after `max_drops` drops (or `max_steps`, or `max_epochs`
passes over a small set) training stops and the weights of the best check are kept.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from simgan.data.gaze_conventions import angular_error_deg
from simgan.errors import SimganError
from simgan.evaluate._common import as_gaze, as_images, seeded, split_indices
from simgan.evaluate.appearance import appearance_jitter
from simgan.evaluate.gaze_estimation import predict_gaze
from simgan.images import convert_channels, to_network
from simgan.models.gaze_estimator import GazeEstimator, gaze_loss


@dataclass(frozen=True)
class StopRule:
    """When to check, when to lower the learning rate and when to stop (see module doc)."""

    max_steps: int = 3000
    max_epochs: int = 60
    eval_every: int = 100
    patience: int = 3
    min_gain: float = 0.02
    lr_drop: float = 0.3
    max_drops: int = 2

    def check(self) -> None:
        if (
            self.max_steps < 1
            or self.max_epochs < 1
            or self.eval_every < 1
            or self.patience < 1
            or self.max_drops < 0
        ):
            raise SimganError(f"stop rule: counts must be positive, got {self}")
        if not 0 <= self.min_gain < 1 or not 0 < self.lr_drop < 1:
            raise SimganError(f"stop rule: min_gain in [0, 1), lr_drop in (0, 1), got {self}")


def train_preservation_estimator(
    images: np.ndarray,
    gaze: np.ndarray,
    *,
    seed: int = 0,
    width: float = 0.25,
    batch_size: int = 64,
    lr: float = 1e-3,
    val_fraction: float = 0.15,
    rule: StopRule = StopRule(),
    device: str = "cpu",
) -> tuple[GazeEstimator, dict[str, Any]]:
    """Train on uint8 images (N, H, W, C) with unit gaze (N, 3); -> (model in eval mode, info).

    info: steps, stopped ("plateau" or "max_steps"), val_error_deg (mean angular error of
    the kept weights on the clean validation images), train_count, val_count, and the
    recipe (width, batch_size, lr, the stop rule).
    """
    images = as_images(images, "estimator training images")
    if images.shape[-1] == 4:
        images = convert_channels(images, 3)
    gaze = as_gaze(gaze, len(images), "estimator training gaze")
    rule.check()
    rng = np.random.default_rng(seed)
    train_idx, val_idx = split_indices(len(images), val_fraction, rng)
    if len(train_idx) < 2 or len(val_idx) < 1:
        raise SimganError(
            f"preservation estimator: {len(images)} images are too few for a training and a "
            f"validation share ({val_fraction:g})"
        )
    with seeded(seed, device):
        model = GazeEstimator(images.shape[-1], images.shape[1:3], width=width).to(device)
        x_all = torch.from_numpy(images[train_idx]).to(device)
        y_all = torch.from_numpy(gaze[train_idx]).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        best_err, best_state, since, drops = math.inf, None, 0, 0
        step, stopped = 0, "max_steps"
        limit = min(rule.max_steps, math.ceil(rule.max_epochs * len(train_idx) / batch_size))
        order = np.empty(0, np.int64)
        while step < limit:
            if len(order) < batch_size:
                order = np.concatenate([order, rng.permutation(len(train_idx))])
            idx, order = torch.from_numpy(order[:batch_size]).to(device), order[batch_size:]
            model.train()
            loss = gaze_loss(model(appearance_jitter(to_network(x_all[idx]))), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % rule.eval_every and step < limit:
                continue
            err = float(
                angular_error_deg(predict_gaze(model, images[val_idx]), gaze[val_idx]).mean()
            )
            if err < best_err * (1 - rule.min_gain) or best_state is None:
                since = 0
            else:
                since += 1
            if err < best_err:
                best_err = err
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if since >= rule.patience:
                if drops >= rule.max_drops:
                    stopped = "plateau"
                    break
                drops, since = drops + 1, 0
                for group in opt.param_groups:
                    group["lr"] *= rule.lr_drop
        model.load_state_dict(best_state)
    info = {
        "steps": step,
        "stopped": stopped,
        "val_error_deg": best_err,
        "train_count": int(len(train_idx)),
        "val_count": int(len(val_idx)),
        "width": width,
        "batch_size": batch_size,
        "lr": lr,
        "stop_rule": asdict(rule),
        "augmentation": "appearance_jitter (tone curve, shading, blur/sharpen, noise)",
    }
    return model.eval(), info
