"""The report of one import: what was written, what was skipped and why (with examples)."""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simgan.data.importers._crop import fit_box
from simgan.errors import SimganError

EXAMPLES_PER_REASON = 3


@dataclass
class ImportReport:
    """Counts of one import: images written, inputs skipped by reason (with examples), and
    the source sizes that were resized (cropped or stretched) to the output size."""

    source: str
    out: Path | None = None
    written: int = 0
    seconds: float = 0.0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[str, Any] = field(default_factory=dict)  # source-specific tallies
    notes: list[str] = field(default_factory=list)
    # (source H, W, fit) -> images brought to `size` from that size; see saw_size
    resized: Counter = field(default_factory=Counter)
    size: tuple[int, int] | None = None

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

    def saw_size(
        self, shape: tuple[int, ...], size: tuple[int, int], mode: str, n: int = 1
    ) -> None:
        """Note n images of source `shape` (H, W, ...) brought to `size` (h, w) by fit
        `mode` ('crop' or 'stretch'), for the summary; images already of `size` are not noted."""
        hw, size = (int(shape[0]), int(shape[1])), (int(size[0]), int(size[1]))
        if hw == size or n <= 0:
            return
        _, _, w, h = fit_box(hw, size, mode)
        if w < hw[1] or h < hw[0]:
            how = "crop"  # a centred box of the target aspect, then scaled
        elif hw[0] * size[1] != hw[1] * size[0]:
            how = "stretch"
        else:
            how = "scaled"
        self.resized[(*hw, how)] += n
        self.size = size

    def resized_lines(self) -> list[str]:
        """'resized from 36x60 to 35x55 (crop)': the source sizes that differed from the
        output size (the most frequent three, with counts when there are several)."""
        if not self.resized or self.size is None:
            return []
        to = f"{self.size[0]}x{self.size[1]}"
        if len(self.resized) == 1:
            ((h, w, how),) = self.resized
            return [f"  resized from {h}x{w} to {to} ({how})"]
        common = self.resized.most_common(3)
        parts = [f"{h}x{w} ({how}, {n} image{'s' * (n != 1)})" for (h, w, how), n in common]
        more = len(self.resized) - len(common)
        rest = f" and {more} other sizes" if more else ""
        return [f"  resized to {to} from {', '.join(parts)}{rest}"]

    @property
    def rate(self) -> float:
        """Images written per second."""
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def skipped_lines(self) -> list[str]:
        """One line per reason, most frequent first, with example inputs."""
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
            [
                head,
                *extra,
                *self.resized_lines(),
                *self.skipped_lines(),
                *(f"  note: {n}" for n in self.notes),
            ]
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as plain values (for --json)."""
        return {
            "source": self.source,
            "out": str(self.out) if self.out else None,
            "written": self.written,
            "seconds": round(self.seconds, 3),
            "images_per_s": round(self.rate, 1),
            "skipped": dict(self.skipped),
            "counts": dict(self.counts),
            "notes": list(self.notes),
            "resized": [
                {"from": f"{h}x{w}", "fit": how, "images": n}
                for (h, w, how), n in self.resized.most_common()
            ],
        }
