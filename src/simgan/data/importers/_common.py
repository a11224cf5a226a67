"""What every importer shares: the report of what was written and skipped, chunked output.

An importer is a generator of (images, labels) chunks plus a report it fills in as it
skips bad files; `write_chunks` streams the chunks into the canonical file atomically and
refuses to leave a file behind when nothing usable was found.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simgan.data.dataset import DatasetWriter
from simgan.errors import SimganError

Chunk = tuple[np.ndarray, dict[str, np.ndarray]]  # images uint8 (n, H, W, C), labels (n, ...)

EXAMPLES_PER_REASON = 3


@dataclass
class ImportReport:
    """Counts of one import: images written, inputs skipped by reason (with examples)."""

    source: str
    out: Path | None = None
    written: int = 0
    seconds: float = 0.0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[str, Any] = field(default_factory=dict)  # source-specific tallies
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str | os.PathLike, strict: bool = False) -> None:
        """Count one unusable input; with `strict`, stop the import on it instead.

        A trailing "(detail)" in `reason` stays with the example, so inputs that fail the
        same way are counted under one reason.
        """
        if strict:
            raise SimganError(f"{where}: {reason} (run without --strict to skip such files)")
        m = re.fullmatch(r"(.+?) \((.*)\)", reason, flags=re.S)
        key, detail = (m[1], f" ({m[2]})") if m else (reason, "")
        self.skipped[key] += 1
        if len(self.examples[key]) < EXAMPLES_PER_REASON:
            self.examples[key].append(f"{where}{detail}")

    @property
    def total_skipped(self) -> int:
        return int(sum(self.skipped.values()))

    @property
    def rate(self) -> float:
        """Images written per second."""
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def skipped_lines(self) -> list[str]:
        lines = []
        for reason, n in self.skipped.most_common():
            ex = ", ".join(self.examples.get(reason, []))
            lines.append(f"  skipped {n}: {reason}" + (f" (e.g. {ex})" if ex else ""))
        return lines

    def summary(self) -> str:
        """A few lines for the terminal."""
        noun = "image" if self.written == 1 else "images"
        head = f"{self.source}: wrote {self.written} {noun} to {self.out}"
        if self.seconds > 0:
            head += f" in {self.seconds:.1f} s ({self.rate:.0f} images/s)"
        extra = [f"  {k}: {v}" for k, v in self.counts.items()]
        return "\n".join(
            [head, *extra, *self.skipped_lines(), *(f"  note: {n}" for n in self.notes)]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "out": str(self.out) if self.out else None,
            "written": self.written,
            "seconds": round(self.seconds, 3),
            "images_per_s": round(self.rate, 1),
            "skipped": dict(self.skipped),
            "counts": dict(self.counts),
            "notes": list(self.notes),
        }


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
        images = np.stack(self._images)
        labels = {k: np.stack(v) for k, v in self._labels.items()}
        self._images, self._labels = [], defaultdict(list)
        return images, labels


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


def natural_key(path: Path) -> list[Any]:
    """Sort '2.jpg' before '10.jpg': digits compare as numbers."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def require_dir(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise SimganError(f"{path}: no such folder; give the folder holding the {what}")
    if not path.is_dir():
        raise SimganError(f"{path}: is a file, expected the folder holding the {what}")
    return path


def require_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise SimganError(f"{path}: no such file; give the path of the {what}")
    if path.is_dir():
        raise SimganError(f"{path}: is a folder, expected the {what}")
    return path


def progress(iterable: Iterable, enabled: bool, desc: str, total: int | None = None) -> Iterator:
    """A tqdm bar on stderr when enabled; the plain iterable otherwise."""
    if not enabled:
        yield from iterable
        return
    from tqdm import tqdm

    yield from tqdm(iterable, desc=desc, total=total, unit="file", leave=False)
