"""Checkpoint selection: keep the refiner whose output is most realistic on held-out REAL
TRAINING images (issue 14, part 3).

Adversarial training does not improve realism monotonically: on the CPU budget two runs of
the same setting end up to 10x apart in KID. With `select.every = N` the trainer sets
`select.held_out` images of the real training file aside (a seeded draw of file rows; D
never sees them), and every N adversarial steps (and at the last step) refines the first
`select.count` synthetic images and scores them against the held-out ones:

- kid: KID on the fixed random-CNN features of simgan.evaluate.features (lower is better;
  the held-out features are computed once, so a score is one refiner pass and one kernel);
- c2st: the accuracy of a small classifier two-sample test (simgan.evaluate.c2st; lower is
  better, 50% is indistinguishable), slower: a classifier trains for every score.

The best score so far and its step travel in every checkpoint (exact resume), the best
refiner is checkpoints/best.pt, and checkpoints/best.json says which step it is and why.
Scoring draws nothing from the training generators, and a refiner with noise channels
draws in a forked RNG, so a run with selection trains the same weights as one without
(apart from the held-out rows it does not train on).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simgan.atomic import atomic_path
from simgan.config import Config, SelectConfig
from simgan.data.dataset import DatasetReader
from simgan.errors import SimganError
from simgan.evaluate.features import image_features
from simgan.evaluate.realism import c2st, kid_from_features
from simgan.images import from_network, to_float

BEST_FILE = "best.json"


def held_out_rows(count: int, select: SelectConfig, seed: int, path: str = "") -> np.ndarray:
    """Sorted file rows of the real images set aside for selection (a seeded draw)."""
    if select.held_out >= count:
        raise SimganError(
            f"{path}: select.held_out {select.held_out} must be fewer than the real set's "
            f"{count} images; lower it, e.g. --set select.held_out={max(2, count // 10)}"
        )
    draw = np.random.default_rng([seed, 0x5E1EC7]).permutation(count)[: select.held_out]
    return np.sort(draw)


def selection_due(cfg: Config, step: int, phase: str) -> bool:
    """Score after `step` steps done (the last one in `phase`)? The same answer on every rank."""
    every = cfg.select.every
    if not every or phase != "adversarial":
        return False
    return step == cfg.total_steps or step % every == 0


def read_rows(path: str | Path, rows: np.ndarray) -> np.ndarray:
    """uint8 (n, H, W, C) images at file rows `rows` of a dataset file."""
    with DatasetReader(path) as r:
        images, _ = r.read_indices(rows)
    return images


class Selector:
    """Scores a refiner's output on fixed synthetic images against held-out real ones and
    remembers the best score and step."""

    def __init__(
        self,
        select: SelectConfig,
        real: np.ndarray,
        synthetic: torch.Tensor,
        device: torch.device,
        seed: int = 0,
    ) -> None:
        """real: uint8 (n, H, W, C) held-out images; synthetic: uint8 (m, C, H, W)."""
        self.metric = select.metric
        self.real = real
        self.synthetic = synthetic[: select.count]
        self.device = device
        self.seed = seed
        self.real_features = image_features(real) if self.metric == "kid" else None
        self.best_score = math.inf
        self.best_step = -1

    @torch.no_grad()
    def refine(self, refiner: nn.Module) -> np.ndarray:
        """uint8 (m, H, W, C) refined images; R is put back in the mode it was in."""
        was_training = refiner.training
        refiner.eval()
        devices = list(range(torch.cuda.device_count())) if self.device.type == "cuda" else []
        out = []
        try:
            with torch.random.fork_rng(devices=devices):  # noise channels: training RNG untouched
                torch.manual_seed(self.seed)
                for i in range(0, len(self.synthetic), 256):
                    x = to_float(self.synthetic[i : i + 256].to(self.device))
                    out.append(from_network(refiner(x).float()))
        finally:
            refiner.train(was_training)
        return np.concatenate(out)

    def score(self, refiner: nn.Module) -> float:
        """The metric of R's output against the held-out real images (lower is better)."""
        fake = self.refine(refiner)
        if self.metric == "kid":
            fy = image_features(fake)
            m = min(len(fy), len(self.real_features), 1000)
            return kid_from_features(self.real_features, fy, seed=self.seed, subset_size=m)["kid"]
        return c2st(self.real, fake, seed=self.seed)["c2st_accuracy"]

    def update(self, step: int, value: float) -> bool:
        """Record a score; True when it is the best so far (ties keep the earlier step)."""
        if value < self.best_score:
            self.best_score, self.best_step = float(value), int(step)
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "best_score": self.best_score, "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state:
            self.best_score = float(state["best_score"])
            self.best_step = int(state["best_step"])


def build_selector(
    cfg: Config, real_path: str | Path, rows: np.ndarray, synthetic: torch.Tensor, device
) -> Selector | None:
    if not cfg.select.every:
        return None
    real = read_rows(real_path, rows)
    return Selector(cfg.select, real, synthetic, device, seed=cfg.seed)


def write_best_record(run_dir: Path, selector: Selector, held_out: int) -> None:
    """checkpoints/best.json: which step best.pt holds, its score and how it was chosen."""
    record = {
        "step": selector.best_step,
        "metric": selector.metric,
        "score": selector.best_score,
        "scored_on": f"{held_out} held-out images of the real training file (never shown to D)",
        "synthetic_count": len(selector.synthetic),
    }
    with atomic_path(run_dir / "checkpoints" / BEST_FILE, overwrite=True) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + "\n")
