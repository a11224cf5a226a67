"""Training curves from metrics.jsonl, drawn with matplotlib (Agg) into PNG bytes."""

from __future__ import annotations

import io
from typing import Any

LOSS_KEYS = ("refiner_loss", "refiner_reg", "refiner_adv", "d_loss")
ACC_KEYS = ("d_acc_real", "d_acc_refined", "d_acc_history")
PHASE_COLOURS = {"pretrain_refiner": "#e3ecf9", "pretrain_discriminator": "#fbf0e0"}


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [float(p[1]) for p in pts]


def _shade_phases(ax, rows: list[dict[str, Any]]) -> None:
    """Tint the pretraining phases, one after the other, so the adversarial part stands out."""
    start = 0
    for phase, colour in PHASE_COLOURS.items():
        steps = [r["step"] for r in rows if r.get("phase") == phase]
        if steps:
            ax.axvspan(start, max(steps), color=colour, zorder=0, label=phase.replace("_", " "))
            start = max(steps)


def _png(fig) -> bytes:
    """A laid-out matplotlib figure as PNG bytes."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def curve_png(
    rows: list[dict[str, Any]],
    keys: tuple[str, ...],
    title: str,
    ylabel: str,
    chance: float | None = None,
) -> bytes | None:
    """One PNG with a line per key found in rows (None when none of the keys is there)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    present = [k for k in keys if _series(rows, k)[0]]
    if not present:
        return None
    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    ax = fig.add_subplot()
    _shade_phases(ax, rows)
    for k in present:
        ax.plot(*_series(rows, k), label=k, linewidth=1.4)
    if chance is not None:
        ax.axhline(chance, color="#888", linestyle="--", linewidth=1, label="chance")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    return _png(fig)


def loss_png(rows: list[dict[str, Any]]) -> bytes | None:
    """The loss curves as PNG bytes (None when none was logged)."""
    return curve_png(rows, LOSS_KEYS, "Losses", "loss")


def accuracy_png(rows: list[dict[str, Any]]) -> bytes | None:
    """The discriminator accuracy curves as PNG bytes (None when none was logged)."""
    return curve_png(
        rows, ACC_KEYS, "Discriminator accuracy (0.5 = fooled)", "accuracy", chance=0.5
    )


def bars_png(
    groups: dict[str, list[float]], names: tuple[str, ...], title: str, ylabel: str = "accuracy"
) -> bytes:
    """Grouped bars as PNG bytes: one group per key of `groups`, one bar per entry of
    `names` (its values in [0, 1], printed as percentages above the bars)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.6 + 1.5 * len(groups), 3.6), dpi=110)
    ax = fig.add_subplot()
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs = [g + (i - (len(names) - 1) / 2) * width for g in range(len(groups))]
        values = [v[i] for v in groups.values()]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, [f"{100 * v:.0f}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)), list(groups))
    ax.set_ylim(0, 1.08)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    return _png(fig)
