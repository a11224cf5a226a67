"""Throughput of everything around training: refining (PyTorch and ONNX), the eye simulator,
and getting images into and out of the canonical dataset file. Medians of repeats."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from simgan.data.dataset import DatasetReader, write_dataset
from simgan.data.eyes import render_eyes
from simgan.data.importers.npz import import_npz
from simgan.errors import SimganError
from simgan.export import export_refiner
from simgan.models import build_refiner
from simgan.optional import need_onnx, onnxruntime_has_cuda
from simgan.refine import OnnxRefiner, refine_array
from simgan.speed.timing import measure

SIZE = (35, 55)


def _rate(count: int, fn: Callable[[], object], device: torch.device, repeats: int) -> dict:
    rates = measure(fn, device, repeats).rates(count, device)
    return {k: v if k == "seconds" else round(v, 1) for k, v in rates.items()}


def bench_refine(
    count: int,
    batch_size: int,
    device: torch.device,
    repeats: int,
    threads: int,
    refiner_flops: int,
    matmul: dict,
) -> dict:
    """uint8 images in, uint8 images out: simgan.refine.refine_array vs the exported ONNX
    model in onnxruntime (same weights), plus how far their outputs differ."""
    refiner = build_refiner("eyes", 1).to(device).eval()
    images = np.random.default_rng(0).integers(0, 256, (count, *SIZE, 1), dtype=np.uint8)
    out: dict = {"count": count, "batch_size": batch_size, "size": f"{SIZE[0]}x{SIZE[1]}"}
    pt = _rate(count, lambda: refine_array(refiner, images, batch_size, device), device, repeats)
    out["pytorch"] = pt
    out["pytorch_share_of_matmul"] = round(
        refiner_flops * pt["images_per_s"] / matmul["flop_per_s"], 4
    )
    if "images_per_cpu_s" in pt:
        rate = refiner_flops * pt["images_per_cpu_s"] / matmul["flop_per_cpu_s"]
        out["pytorch_share_of_matmul_cpu"] = round(rate, 4)
    try:
        need_onnx()  # the optional `onnx` extra
    except SimganError:
        out["onnx"] = {"skipped": "onnxruntime is not installed (pip install 'simgan[onnx]')"}
        return out
    with tempfile.TemporaryDirectory() as tmp:
        path, diff = export_refiner(refiner, Path(tmp) / "refiner.onnx", "onnx", channels=1)
        # onnxruntime runs on the GPU only with its CUDA provider (onnxruntime-gpu)
        gpu = onnxruntime_has_cuda()
        onnx_device = device if device.type == "cuda" and gpu else torch.device("cpu")
        onnx_refiner = OnnxRefiner(path, onnx_device, threads=threads)
        # the timing device is the CPU: onnxruntime returns host arrays, already synced
        cpu = torch.device("cpu")
        on = _rate(count, lambda: onnx_refiner.refine(images, batch_size), cpu, repeats)
        on["device"] = str(onnx_device)
        u8_diff = np.abs(
            onnx_refiner.refine(images[:64]).astype(int)
            - refine_array(refiner, images[:64], 64, device)
        ).max()
    out["onnx"] = on
    out["onnx_vs_pytorch"] = round(on["images_per_s"] / pt["images_per_s"], 4)
    if "images_per_cpu_s" in on and "images_per_cpu_s" in pt:
        out["onnx_vs_pytorch_cpu"] = round(on["images_per_cpu_s"] / pt["images_per_cpu_s"], 4)
    out["onnx_max_abs_diff_float"] = diff
    out["onnx_max_abs_diff_uint8"] = int(u8_diff)
    return out


def bench_simulator(count: int, repeats: int) -> dict:
    """simgan.data.eyes.render_eyes: images rendered per second, labels included."""
    seeds = iter(range(repeats + 1))
    res = _rate(count, lambda: render_eyes(count, seed=next(seeds)), torch.device("cpu"), repeats)
    return {"count": count, "size": f"{SIZE[0]}x{SIZE[1]}", **res}


def bench_import(count: int, repeats: int) -> dict:
    """Images per second: import_npz (npz -> canonical file), write_dataset, and reading the
    canonical file back (DatasetReader.load)."""
    cpu = torch.device("cpu")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, *SIZE, 1), dtype=np.uint8)
    gaze = rng.normal(size=(count, 3)).astype(np.float32)
    gaze /= np.linalg.norm(gaze, axis=1, keepdims=True)
    out: dict = {"count": count, "size": f"{SIZE[0]}x{SIZE[1]}"}
    with tempfile.TemporaryDirectory() as tmp:
        h5, npz, imported = Path(tmp) / "d.h5", Path(tmp) / "d.npz", Path(tmp) / "i.h5"

        def write() -> None:
            write_dataset(h5, images, {"gaze": gaze}, overwrite=True)

        def read() -> None:
            with DatasetReader(h5) as r:
                r.load()

        out["write_dataset"] = _rate(count, write, cpu, repeats)
        out["read_dataset"] = _rate(count, read, cpu, repeats)
        np.savez(npz, images=images, gaze=gaze)
        out["import_npz"] = _rate(
            count,
            lambda: import_npz(npz, imported, size=SIZE, overwrite=True),
            cpu,
            repeats,
        )
    return out
