"""Export a trained refiner for deployment: ONNX or TorchScript files, verified.

The refiner is fully convolutional, so the exported graph keeps the batch, height and width
axes dynamic: one file refines 35x55 eyes and 224x224 hands alike. Graph input and output:

    synthetic (N, C, H, W) float32 in [-1, 1]  ->  refined (N, C, H, W) float32 in [-1, 1]

    path, max_diff = export_run("runs/00000-eyes", "refiner.onnx", "onnx")

Loading an exported file back (to refine with it) is simgan.refine.load_any_refiner's job.

ONNX uses PyTorch's TorchScript-based exporter (dynamo=False): it needs only the `onnx`
package, not onnxscript. TorchScript itself is deprecated in recent PyTorch; prefer ONNX.
Files are written atomically and verified against PyTorch before they get their final name.
"""

from __future__ import annotations

import copy
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from simgan import __version__
from simgan.atomic import atomic_path
from simgan.errors import SimganError
from simgan.optional import need_onnx
from simgan.refine import METADATA_FILE, OnnxRefiner, load_refiner, load_torchscript
from simgan.training.checkpoint import refiner_checkpoint

FORMATS = ("onnx", "torchscript")
OPSET = 17
TOLERANCE = 1e-4  # max |PyTorch - exported| on outputs in [-1, 1]
INPUT_NAME, OUTPUT_NAME = "synthetic", "refined"
_SUFFIX_FORMAT = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript"}


def format_for(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The export format: `fmt` if given, else from the suffix (.onnx, .pt, .ts)."""
    if fmt is None:
        fmt = _SUFFIX_FORMAT.get(Path(path).suffix.lower())
        if fmt is None:
            raise SimganError(
                f"{path}: cannot tell the format from the suffix; pass --format "
                f"{'|'.join(FORMATS)} or name the file .onnx / .pt"
            )
    if fmt not in FORMATS:
        raise SimganError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    return fmt


# -- export -----------------------------------------------------------------------------------


def _write_onnx(refiner: nn.Module, tmp: Path, example: torch.Tensor, meta: dict) -> None:
    onnx, _ = need_onnx()
    axes = {0: "batch", 2: "height", 3: "width"}
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its deprecation
        torch.onnx.export(
            refiner,
            (example,),
            buf,
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
        )
    model = onnx.load_from_string(buf.getvalue())
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    model.producer_name = "simgan"
    model.producer_version = __version__
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))


def _write_torchscript(refiner: nn.Module, tmp: Path, example: torch.Tensor, meta: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated but still the portable format
        try:
            scripted = torch.jit.script(refiner)
        except Exception:  # a custom refiner TorchScript cannot compile: trace it instead
            scripted = torch.jit.trace(refiner, example)
        torch.jit.save(scripted, str(tmp), _extra_files={METADATA_FILE: json.dumps(meta)})


def export_refiner(
    refiner: nn.Module,
    path: str | os.PathLike,
    fmt: str | None = None,
    *,
    channels: int,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
    verify: bool = True,
    seed: int = 0,
) -> tuple[Path, float]:
    """Write `refiner` to `path` as ONNX or TorchScript; returns (path, max abs difference).

    With verify (default), the written file is loaded back and run on random inputs of two
    sizes before it gets its final name; a difference above TOLERANCE raises SimganError and
    leaves no file. max abs difference is NaN when verify is False.
    """
    fmt = format_for(path, fmt)
    refiner = copy.deepcopy(refiner).cpu().eval()  # leave the caller's module where it is
    example = torch.zeros(1, channels, 35, 55)  # any size: the axes are exported as dynamic
    meta = {"simgan_version": __version__, "channels": channels, "format": fmt, "opset": OPSET}
    meta.update(metadata or {})
    if fmt == "torchscript":
        meta.pop("opset")
    writer = _write_onnx if fmt == "onnx" else _write_torchscript
    max_diff = float("nan")
    with atomic_path(path, overwrite=overwrite) as tmp:
        writer(refiner, tmp, example, meta)
        if verify:
            exported = OnnxRefiner(tmp) if fmt == "onnx" else load_torchscript(tmp)
            max_diff = compare_outputs(refiner, exported, channels, seed=seed)
            if not max_diff <= TOLERANCE:
                raise SimganError(
                    f"{path}: the exported {fmt} refiner differs from PyTorch by {max_diff:.2e} "
                    f"(> {TOLERANCE:g}); nothing was written; report this as a bug"
                )
    return Path(path), max_diff


def export_run(
    run: str | os.PathLike,
    path: str | os.PathLike,
    fmt: str | None = None,
    *,
    overwrite: bool = False,
    verify: bool = True,
    checkpoint: str = "best",
) -> tuple[Path, float]:
    """Export the refiner of a run folder (its best.pt where selection kept one, unless
    checkpoint="last"; or a checkpoint file); returns (path, max abs diff)."""
    fmt = format_for(path, fmt)  # fail on a bad format before loading anything
    source = refiner_checkpoint(run, checkpoint)
    refiner, cfg, channels = load_refiner(source, "cpu")
    meta = {"source": str(source), "refiner_preset": cfg.model.refiner, "config_name": cfg.name}
    return export_refiner(
        refiner, path, fmt, channels=channels, overwrite=overwrite, metadata=meta, verify=verify
    )


@torch.no_grad()
def compare_outputs(
    reference: nn.Module,
    other,
    channels: int,
    sizes: tuple[tuple[int, int], ...] = ((35, 55), (24, 40)),
    batch: int = 3,
    seed: int = 0,
) -> float:
    """Max |reference(x) - other(x)| over random batches in [-1, 1] of each (H, W) in sizes."""
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for h, w in sizes:
        x = torch.rand(batch, channels, h, w, generator=g) * 2 - 1
        a, b = reference(x), other(x)
        if a.shape != b.shape:
            raise SimganError(f"exported refiner gives shape {tuple(b.shape)}, not {a.shape}")
        worst = max(worst, float((a.float() - b.float()).abs().max()))
    return worst
