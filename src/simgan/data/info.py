"""Summaries of a dataset file: counts, shapes, label ranges (streamed, any size)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from simgan.data.dataset import DatasetReader
from simgan.data.gaze_conventions import vector_to_pitchyaw


def describe(path: str | os.PathLike, chunk_size: int = 65536) -> dict[str, Any]:
    """Counts, shapes and value ranges of every array in the file, read in chunks."""
    with DatasetReader(path) as r:
        info: dict[str, Any] = {
            "path": str(path),
            "count": len(r),
            "image_shape": list(r.image_shape),
            "attrs": r.attrs,
            "labels": {},
        }
        total, s1, s2 = 0, 0.0, 0.0
        lo, hi = 255, 0
        stats: dict[str, dict[str, Any]] = {}
        for _, images, labels in r.iter_chunks(chunk_size):
            x = images.astype(np.float64)
            total += x.size
            s1 += x.sum()
            s2 += (x * x).sum()
            lo, hi = min(lo, int(images.min())), max(hi, int(images.max()))
            for k, v in labels.items():
                st = stats.setdefault(k, {"shape": list(r.label_shape(k)), "dtype": str(v.dtype)})
                flat = v.reshape(len(v), -1).astype(np.float64)
                st["min"] = np.minimum(st.get("min", flat.min(0)), flat.min(0))
                st["max"] = np.maximum(st.get("max", flat.max(0)), flat.max(0))
                if k == "gaze":
                    py = np.degrees(vector_to_pitchyaw(v))
                    st["pitch_yaw_min"] = np.minimum(st.get("pitch_yaw_min", py.min(0)), py.min(0))
                    st["pitch_yaw_max"] = np.maximum(st.get("pitch_yaw_max", py.max(0)), py.max(0))
                if v.ndim == 1 and np.issubdtype(v.dtype, np.integer):
                    vals, counts = np.unique(v, return_counts=True)
                    c = st.setdefault("counts", {})
                    for a, b in zip(vals.tolist(), counts.tolist(), strict=True):
                        c[a] = c.get(a, 0) + b
        mean = s1 / total
        info["pixels"] = {
            "min": lo,
            "max": hi,
            "mean": round(mean, 3),
            "std": round(float(np.sqrt(max(0.0, s2 / total - mean * mean))), 3),
        }
        for k, st in stats.items():
            for key in ("min", "max", "pitch_yaw_min", "pitch_yaw_max"):
                if key in st:
                    st[key] = [round(float(a), 4) for a in np.ravel(st[key])]
            if "counts" in st and len(st["counts"]) > 50:
                st["distinct"] = len(st.pop("counts"))
            info["labels"][k] = st
        return info


def format_info(info: dict[str, Any]) -> str:
    """Human-readable text for `simgan data info`."""
    h, w, c = info["image_shape"]
    lines = [
        f"{info['path']}",
        f"  images: {info['count']} x {h}x{w}x{c} uint8, pixels {info['pixels']['min']}.."
        f"{info['pixels']['max']} (mean {info['pixels']['mean']}, std {info['pixels']['std']})",
    ]
    for k, v in info["attrs"].items():
        lines.append(f"  attr {k}: {v}")
    for k, st in info["labels"].items():
        line = f"  label {k}: shape {tuple(st['shape'])} {st['dtype']}"
        if "pitch_yaw_min" in st:
            (p0, y0), (p1, y1) = st["pitch_yaw_min"], st["pitch_yaw_max"]
            line += f", pitch {p0:.1f}..{p1:.1f} deg, yaw {y0:.1f}..{y1:.1f} deg"
        elif "counts" in st:
            line += ", counts " + ", ".join(f"{a}: {b}" for a, b in sorted(st["counts"].items()))
        else:
            mn, mx = st["min"], st["max"]
            if len(mn) <= 4:
                line += f", min {mn}, max {mx}"
            else:
                line += f", range {min(mn):.3g}..{max(mx):.3g}"
        if "distinct" in st:
            line += f", {st['distinct']} distinct values"
        lines.append(line)
    return "\n".join(lines)
