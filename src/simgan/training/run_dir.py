"""Run folders: auto-numbered, never overwritten; text log, metrics.jsonl, samples, checkpoints.

runs/00003-eyes/
    config.yaml       the resolved config (non-defaults also listed in log.txt)
    log.txt           what happened, human-readable
    metrics.jsonl     one JSON object per logged step (each step once: a resume drops
                      the rows written after its checkpoint)
    samples/          synthetic | refined | |difference| grids of a FIXED batch (step_N.png),
                      history buffer grids (history_step_N.png), real images (real.png)
    checkpoints/      last.pt (always) and step_NNNNNNN.pt (periodic); best.pt and
                      best.json with checkpoint selection (select.every)
    tensorboard/      TensorBoard events of the same rows and grids (log.tensorboard)
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from simgan.atomic import atomic_path
from simgan.errors import SimganError


def new_run_dir(
    root: str | os.PathLike, name: str, subdirs: tuple[str, ...] = ("samples", "checkpoints")
) -> Path:
    """Create root/NNNNN-name with the next free number (and its sub-folders)."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise SimganError(f"{root}: exists and is not a folder; give a folder for runs")
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    for n in range(max(numbers, default=-1) + 1, 100000):
        path = root / f"{n:05d}-{safe}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        for sub in subdirs:
            (path / sub).mkdir()
        return path
    raise SimganError(f"{root}: no free run number left")


class RunLog:
    """Appends to log.txt and metrics.jsonl; prints log lines when asked; with `board` (a
    simgan.training.tensorboard.TensorBoardLog) also writes the rows and images there."""

    def __init__(self, run_dir: Path, echo: bool = False, board: Any = None) -> None:
        self.run_dir = run_dir
        self.echo = echo
        self.board = board
        self._text = open(run_dir / "log.txt", "a", buffering=1)  # noqa: SIM115
        self._metrics = open(run_dir / "metrics.jsonl", "a", buffering=1)  # noqa: SIM115

    def info(self, message: str, echo: bool = True) -> None:
        stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self._text.write(f"{stamp} {message}\n")
        if self.echo and echo:
            print(message, flush=True)

    def metrics(self, row: dict[str, Any]) -> None:
        self._metrics.write(json.dumps(row) + "\n")
        if self.board is not None:
            self.board.scalars(row)

    def image(self, tag: str, image: Any, step: int) -> None:
        """A picture for TensorBoard (the PNG files are written by their callers)."""
        if self.board is not None:
            self.board.image(tag, image, step)

    def close(self) -> None:
        self._text.close()
        self._metrics.close()
        if self.board is not None:
            self.board.close()
            self.board = None


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """All rows of a run's metrics.jsonl (a torn last line, from a crash, is skipped)."""
    rows = []
    path = Path(run_dir) / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def drop_metrics_after(run_dir: str | os.PathLike, step: int) -> int:
    """Rewrite metrics.jsonl (atomically) without the rows of steps after `step` and any
    torn line; returns how many lines went. A run resumed from its checkpoint at `step`
    replays those steps, so their rows from before a crash would otherwise appear twice."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return 0
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if _row_step(line) <= step]
    if len(kept) == len(lines):
        return 0
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text("".join(kept))
    return len(lines) - len(kept)


def _row_step(line: str) -> float:
    """The step of one metrics.jsonl line; infinity for a line that is not a whole row."""
    if not line.endswith("\n"):
        return math.inf  # torn by a crash: the next row appended would merge with it
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return math.inf
    step = row.get("step") if isinstance(row, dict) else None
    return step if isinstance(step, int) else math.inf
