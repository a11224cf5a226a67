"""TensorBoard events of a run (`--set log.tensorboard=true`, the `tensorboard` extra).

Every row written to metrics.jsonl is also written as TensorBoard scalars under the same
names (phase is a string and stays in metrics.jsonl only), and every sample grid as an
image, into RUN/tensorboard/, so `tensorboard --logdir runs/` shows a run while it trains.

Resuming at the checkpoint of step k appends to the same folder with purge_step k + 1:
TensorBoard's readers (tensorboard.backend.event_processing) then hide what the earlier
session logged after step k, the steps the resume trains again, just as metrics.jsonl
drops those rows; every step is shown once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simgan.optional import need_tensorboard

FOLDER = "tensorboard"


class TensorBoardLog:
    """Scalars and images of one run into RUN/tensorboard/."""

    def __init__(self, run_dir: Path, purge_step: int | None = None) -> None:
        writer_class = need_tensorboard()
        self.writer = writer_class(log_dir=str(Path(run_dir) / FOLDER), purge_step=purge_step)

    def scalars(self, row: dict[str, Any]) -> None:
        """One metrics.jsonl row: every number but the step, at that step."""
        step = int(row["step"])
        for key, value in row.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, float(value), step)

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        """uint8 (H, W) or (H, W, C) image."""
        if image.ndim == 2:
            image = image[:, :, None]
        if image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
        self.writer.add_image(tag, image, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
