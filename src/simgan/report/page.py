"""The run report: one self-contained HTML page (images embedded as base64 PNG).

Sections (ids in parentheses, each always present): overview (summary), configuration
(config, non-defaults marked), training curves (curves), samples at several steps
(samples: synthetic | refined | 4x |difference| rows), real images (real), evaluation metrics
(metrics, from RUN/metrics.json written by `simgan eval all`, each with its meaning).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from simgan.atomic import atomic_path, check_output_path
from simgan.config import Config, diff_from_defaults, from_dict
from simgan.data.dataset import DatasetReader
from simgan.errors import SimganError
from simgan.report import metrics_info, plots
from simgan.training.run_dir import read_metrics
from simgan.viz import auto_scale, make_grid, to_pil

SECTIONS = ("summary", "config", "curves", "samples", "real", "metrics")
MAX_SAMPLE_STEPS = 4
CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2430;
background:#f5f6f8;margin:0}
main{max-width:1080px;margin:0 auto;padding:24px 28px 60px}
header{background:#1f2a44;color:#fff;padding:22px 28px}
header h1{margin:0;font-size:24px;font-weight:600}header p{margin:4px 0 0;color:#c8d0e0}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);
padding:18px 22px;margin:18px 0}
h2{font-size:18px;margin:0 0 12px;color:#1f2a44;border-bottom:1px solid #e6e8ee;
padding-bottom:6px}
h3{font-size:14px;margin:14px 0 6px;color:#4a5366}
table{border-collapse:collapse;width:100%;font-size:13.5px}
td,th{padding:5px 8px;border-bottom:1px solid #eef0f4;text-align:left;vertical-align:top}
th{color:#5b6476;font-weight:600;background:#fafbfc}
tr.changed td:first-child{border-left:3px solid #e39b2d}
.tag{display:inline-block;font-size:11px;background:#fdf0dc;color:#8a5a12;border-radius:4px;
padding:0 6px;margin-left:6px}
.num{font-variant-numeric:tabular-nums;white-space:nowrap;font-weight:600}
.muted{color:#7a8294;font-size:13px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px}
img{max-width:100%;image-rendering:pixelated;border:1px solid #e6e8ee;border-radius:4px}
img.plot{image-rendering:auto;border:none}
figure{margin:0}figcaption{font-size:13px;font-weight:600;color:#4a5366;margin:4px 0}
#real img{max-width:520px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#f5f7fb;border-radius:8px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:20px;color:#1f2a44}.card span{font-size:12px;color:#5b6476}
.note{background:#fff8e6;border-left:4px solid #e3b341;padding:10px 14px;border-radius:4px}
code{background:#f0f2f6;padding:1px 5px;border-radius:4px;font-size:13px}
"""


def _img(png: bytes, alt: str, cls: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _e(x: Any) -> str:
    return html.escape(str(x))


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def _config_section(run: Path) -> tuple[str, dict[str, Any]]:
    """Config table with non-default values marked; also returns the raw config dict."""
    path = run / "config.yaml"
    if not path.exists():
        return '<p class="note">No config.yaml in this run folder.</p>', {}
    raw = yaml.safe_load(path.read_text()) or {}
    try:
        changed = {
            line.split(": ", 1)[0]: line for line in diff_from_defaults(from_dict(Config, raw))
        }
    except SimganError:
        changed = {}  # an older or hand-edited config: show it unmarked
    rows = []
    for key, value in metrics_info.flatten(raw):
        mark = key in changed
        default = re.search(r"\(default (.*)\)$", changed.get(key, ""))
        tag = f'<span class="tag">default {_e(default.group(1))}</span>' if default else ""
        rows.append(
            f"<tr{' class=changed' if mark else ''}><td><code>{_e(key)}</code></td>"
            f"<td>{_e(metrics_info.format_value(value))}{tag}</td></tr>"
        )
    body = (
        f'<p class="muted">{len(changed)} value(s) differ from the built-in defaults '
        "(marked).</p><table><tr><th>key</th><th>value</th></tr>" + "".join(rows) + "</table>"
    )
    return body, raw


def _curves_section(rows: list[dict[str, Any]]) -> str:
    pictures = [p for p in (plots.loss_png(rows), plots.accuracy_png(rows)) if p]
    if not pictures:
        return '<p class="note">No training metrics logged yet (metrics.jsonl is empty).</p>'
    imgs = "".join(f"<div>{_img(p, 'training curve', 'plot')}</div>" for p in pictures)
    return (
        f'<div class="grid2">{imgs}</div><p class="muted">Shaded: pretraining phases. The '
        "discriminator accuracy near 0.5 means the refined images fool it.</p>"
    )


def pick_steps(paths: list[Path], k: int = MAX_SAMPLE_STEPS) -> list[Path]:
    """Up to k sample grids, evenly spread from the first to the last step."""
    if len(paths) <= k:
        return paths
    idx = sorted({round(i * (len(paths) - 1) / (k - 1)) for i in range(k)})
    return [paths[i] for i in idx]


def _samples_section(run: Path) -> str:
    paths = sorted((run / "samples").glob("step_*.png"))
    if not paths:
        return '<p class="note">No sample grids yet (samples/step_*.png).</p>'
    figures = []
    for p in pick_steps(paths):
        step = int(re.sub(r"\D", "", p.stem) or 0)
        figures.append(
            f"<figure><figcaption>step {step:,}</figcaption>"
            f"{_img(p.read_bytes(), f'samples at step {step}')}</figure>"
        )
    return (
        '<p class="muted">Rows in each grid (named on its left): synthetic, refined, and 4x '
        "the absolute difference between them (grids of older runs have no names). Showing "
        f"{len(figures)} of {len(paths)} saved steps.</p>"
        f'<div class="grid2">{"".join(figures)}</div>'
    )


def _real_section(run: Path, real: str | os.PathLike | None) -> str:
    parts = []
    path = run / "samples" / "real.png"
    if path.exists():
        parts.append(
            f"<h3>real images the refiner trained against</h3>{_img(path.read_bytes(), 'real')}"
        )
    if real is not None:
        parts.append(f"<h3>{_e(Path(real).name)}</h3>{_img(_real_grid(real), 'real images')}")
    return "".join(parts) or '<p class="note">No real sample grid (samples/real.png).</p>'


def _real_grid(path: str | os.PathLike, count: int = 32) -> bytes:
    """PNG bytes of a grid of the first `count` images of a dataset file."""
    with DatasetReader(path) as r:
        images = r.read(0, min(count, len(r)), labels=False)[0]
    buf = io.BytesIO()
    to_pil(make_grid(images, ncol=8), scale=auto_scale(*images.shape[1:3], target=128)).save(
        buf, format="PNG"
    )
    return buf.getvalue()


def _metrics_section(run: Path) -> str:
    path = run / "metrics.json"
    if not path.exists():
        return (
            '<p class="note">Not computed yet: run <code>simgan eval all '
            f"{_e(run)}</code> to write metrics.json into the run folder, then rebuild this "
            "report.</p>"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SimganError(f"{path}: not valid JSON ({e}); rerun simgan eval all") from None
    rows = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td class=num>{_e(metrics_info.format_value(v))}</td>"
        f"<td>{_e(metrics_info.meaning(k))}</td></tr>"
        for k, v in metrics_info.flatten(data)
    )
    return f"<table><tr><th>metric</th><th>value</th><th>meaning</th></tr>{rows}</table>"


def _summary_section(run: Path, cfg: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    last = rows[-1] if rows else {}
    train = cfg.get("train", {})
    total = sum(
        int(train.get(k, 0))
        for k in ("pretrain_refiner_steps", "pretrain_discriminator_steps", "steps")
    )
    cards = [
        ("preset", cfg.get("name", "?")),
        ("steps logged", f"{last.get('step', 0):,} / {total:,}"),
        ("phase", str(last.get("phase", "-")).replace("_", " ")),
        ("batch size", train.get("batch_size", "?")),
    ]
    for key in ("d_acc_refined", "refiner_reg"):
        if isinstance(last.get(key), (int, float)):
            cards.append((f"last {key}", f"{last[key]:.3f}"))
    items = "".join(f'<div class="card"><span>{_e(k)}</span><b>{_e(v)}</b></div>' for k, v in cards)
    return f'<div class="cards">{items}</div>'


def build_report(run: str | os.PathLike, real: str | os.PathLike | None = None) -> str:
    """The report of run folder `run` as one HTML string (every image embedded)."""
    run = Path(run)
    if not run.is_dir():
        raise SimganError(f"{run}: not a run folder; pass a folder made by 'simgan train'")
    if not (run / "config.yaml").exists() and not (run / "metrics.jsonl").exists():
        raise SimganError(f"{run}: no config.yaml or metrics.jsonl; is this a simgan run folder?")
    if real is not None and not Path(real).exists():
        raise SimganError(f"--real {real}: no such file")
    rows = read_metrics(run) if (run / "metrics.jsonl").exists() else []
    config_html, cfg = _config_section(run)
    body = [
        _section("summary", "Overview", _summary_section(run, cfg, rows)),
        _section("metrics", "Evaluation metrics", _metrics_section(run)),
        _section("curves", "Training curves", _curves_section(rows)),
        _section("samples", "Samples: synthetic | refined | difference", _samples_section(run)),
        _section("real", "Real images", _real_section(run, real)),
        _section("config", "Configuration", config_html),
    ]
    title = f"simgan report: {run.name}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{_e(run.resolve())}</p></header><main>"
        + "\n".join(body)
        + "</main></body></html>\n"
    )


def write_report(
    run: str | os.PathLike,
    out: str | os.PathLike,
    real: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Path:
    """Write build_report(run, real) to `out` atomically; returns the path."""
    check_output_path(out, overwrite)
    page = build_report(run, real)
    with atomic_path(out, overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(out)
