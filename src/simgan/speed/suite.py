"""`simgan bench speed`: every speed figure of the project in one JSON object.

    simgan bench speed --json                  # about 3-4 minutes on a 2-core CPU
    simgan bench speed --quick --json          # well under a minute: small batches, 2 repeats

Figures (each the median of --repeats timed runs after one warm-up run):
- train: one adversarial step (K_g refiner + K_d discriminator updates, eyes preset, 35x55)
  per batch size, through simgan's own trainer functions AND a naive PyTorch port of the
  same step (simgan.speed.baseline), interleaved in this process; images/s, model FLOP/s,
  their share of the matrix product's FLOP/s, and speedup_vs_baseline = baseline step
  time / simgan step time (definitions in simgan.speed.train_speed and .flops);
- matmul: FLOP/s of a large float32 matrix product, the machine's practical dense rate;
- refine: images/s of refine_array (PyTorch) and of the exported ONNX model (onnxruntime);
- simulator: render_eyes images/s, labels included;
- import: import_npz, write_dataset and read-back images/s.
The machine's load average is recorded at the start and the end: on a shared machine the
ratios (measured side by side) are the trustworthy part, not the absolute rates.
"""

from __future__ import annotations

import time

import torch

from simgan import __version__
from simgan.device import resolve_device
from simgan.speed import io_speed, timing
from simgan.speed.train_speed import bench_train_step, model_flops

# sizes of `simgan bench speed --quick` and of a plain run (cli/bench.py picks one)
QUICK = {"batch_sizes": (8,), "repeats": 2, "refine": 16, "simulator": 256, "import": 1024}
FULL = {"batch_sizes": (16, 64), "repeats": 3, "refine": 128, "simulator": 2048, "import": 8192}
TARGETS = {"batch_size": 64, "speedup_vs_baseline": 1.5, "share_of_matmul": 0.6}


def run_speed(
    *,
    batch_sizes: tuple[int, ...] = FULL["batch_sizes"],
    repeats: int = 3,
    device: str = "cpu",
    threads: int | None = None,
    refine_count: int = 128,
    simulator_count: int = 2048,
    import_count: int = 8192,
    matmul_size: int | None = None,
    skip: tuple[str, ...] = (),
    quick: bool = False,
) -> dict:
    """Measure everything; returns the JSON-ready dict (see the module docstring)."""
    dev = resolve_device(device)
    old_threads = torch.get_num_threads()
    if threads:
        thread_choice = "given with --threads"
    else:
        threads, thread_choice = timing.auto_threads()
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    try:
        result: dict = {
            "benchmark": "speed",
            "simgan_version": __version__,
            "quick": quick,
            "repeats": repeats,
            "load_average_start": timing.load_average(),
            "machine": {**timing.machine_info(dev, threads), "threads_why": thread_choice},
            "definitions": {
                "images_per_s": "b * (k_g + 2 k_d) / adversarial step seconds: every image "
                "entering a network as a training input (as the trainer's images_per_s)",
                "model_flops_per_step": "conv FLOPs of the algorithm: k_g * b * (3 F_R + 2 F_D) "
                "+ k_d * b * (F_R + 6 F_D), F = 2*Cin*Cout*k*k*Hout*Wout summed per image",
                "share_of_matmul": "model FLOP/s / FLOP/s of the float32 matmul measured here",
                "speedup_vs_baseline": "baseline step seconds / simgan step seconds (medians)",
            },
        }
        n = matmul_size or (8192 if dev.type == "cuda" else 2048)
        mm = timing.matmul_flop_rate(dev, n, repeats=max(2, repeats))
        result["matmul"] = mm
        flops = model_flops(dev)
        result["model_flops"] = flops
        result["train"] = [bench_train_step(b, dev, repeats, mm, flops) for b in batch_sizes]
        if "refine" not in skip:
            result["refine"] = io_speed.bench_refine(
                refine_count,
                min(refine_count, 1024),
                dev,
                repeats,
                threads,
                flops["refiner_forward_per_image"],
                mm,
            )
        if "simulator" not in skip:
            result["simulator"] = io_speed.bench_simulator(simulator_count, repeats)
        if "import" not in skip:
            result["import"] = io_speed.bench_import(import_count, repeats)
        result["targets"] = _targets(result["train"], dev)
        result["load_average_end"] = timing.load_average()
        result["wall_s"] = round(time.perf_counter() - t0, 1)
    finally:
        torch.set_num_threads(old_threads)
    return result


def _targets(train: list[dict], device: torch.device) -> dict:
    """The issue's CPU targets at batch 64, next to what was measured (wall-clock medians, and
    process-CPU-time medians, which a shared machine disturbs less)."""
    row = next((r for r in train if r["batch_size"] == TARGETS["batch_size"]), None)
    out: dict = {"batch_size": TARGETS["batch_size"], "applies_to": "cpu"}
    if row is None or device.type != "cpu":
        out["note"] = "not measured: needs a CPU run with batch size 64 in --batch-sizes"
        return out
    fields = {
        "speedup_vs_baseline": ("speedup_vs_baseline", "speedup_vs_baseline_cpu"),
        "share_of_matmul": ("simgan_share_of_matmul", "simgan_share_of_matmul_cpu"),
    }
    for key, (wall, cpu) in fields.items():
        target = TARGETS[key]
        out[key] = {
            "target": target,
            "measured": row[wall],
            "measured_cpu": row[cpu],
            "met": row[wall] >= target,
            "met_cpu": row[cpu] >= target,
        }
    if "simgan_share_of_matmul_bf16" in row:
        bf16 = row["simgan_share_of_matmul_bf16"]
        out["share_of_matmul"]["measured_vs_bf16_matmul"] = bf16
        out["share_of_matmul"]["met_vs_bf16_matmul"] = bf16 >= TARGETS["share_of_matmul"]
        out["note"] = (
            "simgan ran under bf16 autocast and the baseline in float32: the speedup includes "
            "bf16, and share_of_matmul compares bf16 work with a float32 product; "
            "measured_vs_bf16_matmul compares it with a bf16 product"
        )
    return out


def format_summary(r: dict) -> str:
    """A few human-readable lines; --json has everything."""
    m = r["machine"]
    mm = r["matmul"]
    lines = [
        f"simgan {r['simgan_version']} on {m['device']} ({m['torch_threads']} threads); load "
        f"average {r['load_average_start']} -> {r['load_average_end']}; medians of "
        f"{r['repeats']} repeats",
        f"matmul {mm['n']}^2 float32: {mm['flop_per_s'] / 1e9:.1f} GFLOP/s"
        + (f" ({mm['flop_per_cpu_s'] / 1e9:.1f} per CPU second)" if "flop_per_cpu_s" in mm else ""),
    ]
    for t in r["train"]:
        lines.append(
            f"train b={t['batch_size']}: simgan (amp {t['simgan_settings']['amp']}) "
            f"{t['simgan_images_per_s']:.1f} images/s "
            f"({t['simgan_share_of_matmul']:.0%} of matmul), baseline "
            f"{t['baseline_images_per_s']:.1f} images/s ({t['baseline_share_of_matmul']:.0%}); "
            f"speedup {t['speedup_vs_baseline']:.2f}x"
            + (
                f" (by CPU time: {t['speedup_vs_baseline_cpu']:.2f}x, "
                f"{t['simgan_share_of_matmul_cpu']:.0%} of matmul)"
                if "speedup_vs_baseline_cpu" in t
                else ""
            )
        )
    if "refine" in r:
        f = r["refine"]
        onnx = f["onnx"].get("images_per_s", f["onnx"].get("skipped"))
        lines.append(f"refine: PyTorch {f['pytorch']['images_per_s']:.0f} images/s, ONNX {onnx}")
    if "simulator" in r:
        s = r["simulator"]
        lines.append(f"simulator: {s.get('images_per_s', s.get('skipped'))} images/s")
    if "import" in r:
        i = r["import"]
        parts = [
            f"{k} {v['images_per_s']:.0f}"
            for k, v in i.items()
            if isinstance(v, dict) and "images_per_s" in v
        ]
        lines.append("dataset file images/s: " + ", ".join(parts))
    for key in ("speedup_vs_baseline", "share_of_matmul"):
        if key in r["targets"]:
            t = r["targets"][key]
            lines.append(
                f"target {key} >= {t['target']} at b=64: {t['measured']} "
                f"({'met' if t['met'] else 'not met'}); by CPU time {t['measured_cpu']} "
                f"({'met' if t['met_cpu'] else 'not met'})"
                + (
                    f"; vs a bf16 matmul {t['measured_vs_bf16_matmul']}"
                    if "measured_vs_bf16_matmul" in t
                    else ""
                )
            )
    if "note" in r["targets"]:
        lines.append(f"note: {r['targets']['note']}")
    return "\n".join(lines)
