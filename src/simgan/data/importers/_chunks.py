"""Chunked output: single samples stacked into chunks, chunks streamed into a dataset file.

An importer is a generator of (images, labels) chunks plus a report it fills in as it
skips bad files; `chunked` stacks a generator of single samples into such chunks, and
`write_chunks` streams the chunks into the canonical file atomically and refuses to leave a
file behind when nothing usable was found.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simgan.data.dataset import DatasetWriter
from simgan.data.importers._report import ImportReport
from simgan.errors import SimganError

Chunk = tuple[np.ndarray, dict[str, np.ndarray]]  # images uint8 (n, H, W, C), labels (n, ...)
Sample = tuple[np.ndarray, dict[str, Any]]  # one image uint8 (H, W, C), its label values


class ChunkBuffer:
    """Collect single samples and hand them out as stacked chunks of `size` rows."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._images: list[np.ndarray] = []
        self._labels: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, image: np.ndarray, **labels: Any) -> None:
        """image uint8 (H, W, C); labels: one value per label name."""
        self._images.append(image)
        for k, v in labels.items():
            self._labels[k].append(np.asarray(v))

    def __len__(self) -> int:
        return len(self._images)

    @property
    def full(self) -> bool:
        return len(self._images) >= self.size

    def take(self) -> Chunk:
        """The samples collected so far, stacked; the buffer starts empty again."""
        images = np.stack(self._images)
        labels = {k: np.stack(v) for k, v in self._labels.items()}
        self._images, self._labels = [], defaultdict(list)
        return images, labels


def chunked(samples: Iterable[Sample], size: int = 1024) -> Iterator[Chunk]:
    """Stack (image, labels) samples into chunks of `size` rows (the last may be shorter)."""
    buf = ChunkBuffer(size)
    for image, labels in samples:
        buf.add(image, **labels)
        if buf.full:
            yield buf.take()
    if len(buf):
        yield buf.take()


def write_chunks(
    out: str | os.PathLike,
    chunks: Iterable[Chunk],
    report: ImportReport,
    attrs: Mapping[str, Any],
    overwrite: bool = False,
    nothing_hint: str = "",
) -> ImportReport:
    """Stream `chunks` into the dataset file `out`; fills report.written/seconds/out.

    `attrs` is read after the last chunk, so a generator may still add to it.

    Raises SimganError (and leaves no file) when no image at all was usable.
    """
    t0 = time.perf_counter()
    report.out = Path(out)
    with DatasetWriter(out, attrs=attrs, overwrite=overwrite) as w:
        for images, labels in chunks:
            if len(images):
                w.append(images, **labels)
                report.written = w.count
        w.attrs.update(attrs)  # importers may add attrs they learn while streaming
        if w.count == 0:
            skipped = "; ".join(s.strip() for s in report.skipped_lines()) or "no inputs"
            raise SimganError(
                f"{report.source}: nothing usable found, so {out} was not written ({skipped})"
                + (f"; {nothing_hint}" if nothing_hint else "")
            )
    report.seconds = time.perf_counter() - t0
    return report
