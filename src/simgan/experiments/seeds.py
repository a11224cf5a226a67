"""Figures over several seeds: mean and spread, strict JSON, percentages for the summaries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def mean_std(values: list[float | None]) -> dict[str, float | None]:
    """Mean and population std of the finite values (None when none are finite); n counts
    them (gap_closed is undefined, NaN, for a seed where there was no gap)."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}


def json_safe(obj: Any) -> Any:
    """NaN and infinities -> None, recursively, so that --json prints strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def pct(v: float | None) -> str:
    """A share as a percentage for the text summaries ('n/a' when undefined)."""
    return "  n/a" if v is None else f"{100 * v:5.1f}"
