"""`simgan bench domain-gap`: the labelled domain-gap benchmark (benchmarks.md section 2).

    simgan bench domain-gap --json              # seeds 0,1,2 at a CPU-sized budget (see below)
    simgan bench domain-gap --seeds 0 --json    # one seed, a quick look
    simgan bench domain-gap --estimator-seeds 3 --json  # 3 estimators per arm and seed
    simgan bench domain-gap --full-budget --count 20000 --epochs 20 --width 1 --json
        # the paper's networks and the eyes preset's schedule (a GPU job)
    simgan bench domain-gap --label-model --set loss.lambda_label=10 --json
        # the refiner keeps the gaze of a frozen estimator trained on the synthetic eyes

Per seed:
1. synthetic eyes with exact gaze from the simulator (stream `seed`);
2. a labelled "target camera" domain: OTHER simulator eyes (stream `seed + 1000`) passed
   through make_target_domain (gamma, vignette, blur, mottling, sensor noise, JPEG), split
   in halves: A (the refiner's unlabeled real set, and the oracle's labelled training set;
   by default as many images as the synthetic set) and B (held out for testing; nothing
   trains on it);
3. a refiner trained (eyes preset, CPU-sized budget unless --set says otherwise) with the
   synthetic eyes against half A's images, without labels (with --label-model, the
   label-consistency term's frozen gaze estimator is trained on the synthetic eyes and
   their own labels, never the target's); the synthetic eyes refined;
4. the same gaze estimator recipe trained on raw synthetic, on refined synthetic and on
   half A with labels (the oracle), each scored on half B; with --estimator-seeds K, K
   estimators per arm (seeds seed + 1000 k, the same k for every arm), since one
   estimator's own seed noise (0.1-0.3 deg) is the size of the gap it measures;
gap_closed = (E_syn - E_ref) / (E_syn - E_oracle) from the mean angular errors (each arm's
mean over its estimators); per seed also the gap and the improvement in degrees and the
share closed, each as mean +- std over the estimator seeds.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from simgan.config import load_config
from simgan.data.eyes import render_eyes
from simgan.errors import SimganError
from simgan.evaluate import make_target_domain, train_gaze_estimator
from simgan.evaluate.estimator_seeds import errors_over_estimator_seeds
from simgan.experiments.budgets import EYES_CPU_BUDGET, MIN_ESTIMATOR_STEPS
from simgan.experiments.pipeline import (
    gaze_label_model,
    refine_with,
    require_label_weight,
    train_refiner,
    write_training_sets,
)
from simgan.experiments.seeds import json_safe, mean_std, pct
from simgan.training.run_dir import new_run_dir

# The CPU budget of every eye refiner in simgan (simgan.experiments.budgets: the small refiner,
# lr 1e-3, batch 32, 2,500 steps, chosen on real eyes). It replaced a 300-step budget here,
# under which seeds 0-2 closed 27%, 68% and 14% of the gap (docs/evaluation.md).
# --full-budget trains the eyes preset as it is (the paper's networks and schedule).
CPU_BUDGET = (*EYES_CPU_BUDGET, "log.log_every=10")
# Every gaze estimator trains for at least MIN_ESTIMATOR_STEPS optimizer steps (budgets.py).
TARGET_SEED_OFFSET = 1000  # the target domain renders a different simulator stream
NAMES = ("synthetic", "refined", "oracle")
ESTIMATOR_SEED_STEP = 1000  # estimator k of a seed trains with seed + 1000 k


def estimator_seeds(seed: int, count: int) -> tuple[int, ...]:
    """The estimator seeds of one benchmark seed: seed, seed + 1000, ... (count of them)."""
    if count < 1:
        raise SimganError(f"--estimator-seeds {count}: need at least 1")
    return tuple(seed + ESTIMATOR_SEED_STEP * k for k in range(count))


def run_one_seed(
    seed: int,
    folder: str | Path,
    *,
    count: int,
    target_count: int,
    style: str,
    epochs: int,
    width: float,
    overrides: tuple[str, ...],
    device: str,
    min_steps: int = MIN_ESTIMATOR_STEPS,
    n_estimators: int = 1,
    label_model: bool = False,
) -> dict[str, Any]:
    """One seed of the benchmark in `folder`; returns errors per training set and gap_closed
    (n_estimators estimators per training set; see errors_over_estimator_seeds). label_model:
    a gaze estimator trained on the synthetic eyes becomes loss.label_model (pipeline.
    gaze_label_model; the weight is loss.lambda_label, from `overrides`)."""
    seeds = estimator_seeds(seed, n_estimators)
    if target_count < 4:
        raise SimganError(f"--target-count {target_count}: need at least 4 target images")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    syn, syn_labels = render_eyes(count, seed=seed)  # (N, 35, 55, 1) uint8
    raw_target, target_labels = render_eyes(target_count, seed=seed + TARGET_SEED_OFFSET)
    target = make_target_domain(raw_target, seed=seed, style=style)
    half = target_count // 2
    sets = write_training_sets(
        folder,
        syn,
        {"gaze": syn_labels["gaze"]},
        target[:half],
        real_name="target_unlabeled.h5",
        real_attrs={"domain": "real", "source": f"make_target_domain(style={style}), half A"},
    )
    if label_model:
        path, _ = gaze_label_model(sets[0], folder / "label_model.pt", seed)
        overrides = (*overrides, f"loss.label_model={path}")
    cfg = load_config("eyes", [f"seed={seed}", *overrides])
    run = train_refiner(cfg, sets, folder, echo=False)
    refined = refine_with(run, syn)

    def fit(x, g, estimator_seed):
        return train_gaze_estimator(
            x,
            g,
            epochs=epochs,
            width=width,
            seed=estimator_seed,
            device=device,
            min_steps=min_steps,
        )

    g_syn, g_tgt = syn_labels["gaze"], target_labels["gaze"]
    errors = errors_over_estimator_seeds(
        {
            "synthetic": (syn, g_syn),
            "refined": (refined, g_syn),
            "oracle": (target[:half], g_tgt[:half]),
        },
        target[half:],
        g_tgt[half:],
        train_fn=fit,
        seeds=seeds,
    )
    return {"seed": seed, "run": str(run), **errors}


def run_bench_domain_gap(
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
    count: int = 2000,
    target_count: int | None = None,
    style: str = "default",
    epochs: int = 6,
    min_steps: int = MIN_ESTIMATOR_STEPS,
    width: float = 0.25,
    overrides: tuple[str, ...] = CPU_BUDGET,
    out: str | None = None,
    device: str = "cpu",
    n_estimators: int = 1,
    label_model: bool = False,
) -> dict[str, Any]:
    """Run the benchmark once per seed; returns the JSON-ready result."""
    estimator_seeds(0, n_estimators)  # a bad count fails before any work
    if label_model:
        require_label_weight(overrides)
    # the oracle's training half is as large as the synthetic set: with fewer images the
    # oracle is starved of data, not of domain, and stops being the ceiling it stands for
    target_count = target_count or 2 * count
    t0 = time.perf_counter()
    per_seed = []
    with tempfile.TemporaryDirectory(prefix="simgan-bench-gap-") as tmp:
        for seed in seeds:
            s0 = time.perf_counter()
            folder = new_run_dir(out, "bench-domain-gap") if out else Path(tmp) / f"seed{seed}"
            row = run_one_seed(
                seed,
                folder,
                count=count,
                target_count=target_count,
                style=style,
                epochs=epochs,
                min_steps=min_steps,
                width=width,
                overrides=tuple(overrides),
                device=device,
                n_estimators=n_estimators,
                label_model=label_model,
            )
            if not out:
                del row["run"]
            row["wall_s"] = round(time.perf_counter() - s0, 1)
            per_seed.append(row)
    result: dict[str, Any] = {
        "benchmark": "domain-gap",
        "seeds": list(seeds),
        "synthetic_count": count,
        "target_count": target_count,
        "test_count": target_count - target_count // 2,
        "style": style,
        "estimator": {
            "epochs": epochs,
            "min_steps": min_steps,
            "width": width,
            "estimator_seeds_per_arm": n_estimators,
        },
        "overrides": list(overrides),
        "label_model": label_model,
        "per_seed": per_seed,
        "mean_angular_error_deg": {
            k: mean_std([r[k]["mean_angular_error_deg"] for r in per_seed]) for k in NAMES
        },
        "gap_closed": mean_std([r["gap_closed"] for r in per_seed]),
        "estimator_spread_deg": {
            k: mean_std([r[k]["std_over_estimators"] for r in per_seed]) for k in NAMES
        },
        "gap_deg": mean_std([r["gap_deg"]["mean"] for r in per_seed]),
        "improvement_deg": mean_std([r["improvement_deg"]["mean"] for r in per_seed]),
    }
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return json_safe(result)


def format_summary(r: dict[str, Any]) -> str:
    """A few human-readable lines; --json has everything."""
    e = r["mean_angular_error_deg"]
    names = {
        "synthetic": "trained on raw synthetic",
        "refined": "trained on refined synthetic",
        "oracle": "trained on labelled target",
    }
    lines = [
        f"domain-gap benchmark (style {r['style']}), seeds {r['seeds']}, "
        f"{r['synthetic_count']} synthetic eyes, {r['test_count']} held-out target eyes:"
    ]
    spread = r.get("estimator_spread_deg", {})
    for k, name in names.items():
        line = f"  {name:<32}{e[k]['mean']:6.2f} deg +- {e[k]['std']:.2f}"
        if spread.get(k, {}).get("mean") is not None:
            line += f" (estimator seeds: +- {spread[k]['mean']:.2f})"
        lines.append(line)
    for key, name in (
        ("gap_deg", "gap (raw - labelled target)"),
        ("improvement_deg", "raw - refined"),
    ):
        v = r.get(key) or {}
        if v.get("mean") is not None:
            lines.append(f"  {name:<32}{v['mean']:6.2f} deg +- {v['std']:.2f}")
    g = r["gap_closed"]
    name = "share of the gap closed"
    lines.append(f"  {name:<32}{pct(g['mean'])}% +- {pct(g['std'])}")
    lines.append("  (+- : std over seeds; estimator seeds: mean std over estimators per seed)")
    return "\n".join(lines)
