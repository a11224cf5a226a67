"""Export a trained refiner for deployment (ONNX or TorchScript) and load any refiner back.

The refiner is fully convolutional, so the exported graph keeps the batch, height and width
axes dynamic: one file refines 35x55 eyes and 224x224 hands alike. Graph input and output:

    synthetic (N, C, H, W) float32 in [-1, 1]  ->  refined (N, C, H, W) float32 in [-1, 1]

    path, max_diff = export_run("runs/00000-eyes", "refiner.onnx", "onnx")
    model = load_any_refiner("refiner.onnx")        # or a run folder, checkpoint, TorchScript
    refined = model.refine(images)                  # uint8 (N, H, W, C) -> uint8 (N, H, W, C)

Every loaded refiner is also callable on float (N, C, H, W) tensors in [-1, 1], so it can be
handed to simgan.refine.refine_file / refine_array in place of an nn.Module.

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
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simgan import __version__
from simgan.atomic import atomic_path
from simgan.errors import SimganError

FORMATS = ("onnx", "torchscript")
OPSET = 17
TOLERANCE = 1e-4  # max |PyTorch - exported| on outputs in [-1, 1]
INPUT_NAME, OUTPUT_NAME = "synthetic", "refined"
METADATA_FILE = "simgan.json"  # TorchScript extra file holding the metadata
_SUFFIX_FORMAT = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript"}


def _need_onnx() -> Any:
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise SimganError(
            "ONNX export and inference need the onnx and onnxruntime packages; install them "
            "with: pip install 'simgan[onnx]'"
        ) from None
    return onnx, onnxruntime


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
    onnx, _ = _need_onnx()
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
            max_diff = compare_outputs(refiner, _load_file(tmp, fmt, "cpu"), channels, seed=seed)
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
) -> tuple[Path, float]:
    """Export the refiner of a run folder (or checkpoint file); returns (path, max abs diff)."""
    from simgan.refine import load_refiner

    fmt = format_for(path, fmt)  # fail on a bad format before loading anything
    refiner, cfg, channels = load_refiner(run, "cpu")
    meta = {"source": str(run), "refiner_preset": cfg.model.refiner, "config_name": cfg.name}
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


# -- load any refiner -------------------------------------------------------------------------


def _u8_to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, C) -> float32 (N, C, H, W) in [-1, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 127.5 - 1.0


def _float_to_u8(x: np.ndarray) -> np.ndarray:
    """float (N, C, H, W) in [-1, 1] -> uint8 (N, H, W, C), rounded like batches.to_uint8."""
    y = np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(y.transpose(0, 2, 3, 1))


def _check_images(images: np.ndarray, channels: int, source: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != channels:
        raise SimganError(
            f"{source}: expects uint8 images (N, H, W, {channels}), got {images.dtype} "
            f"{images.shape}; import the data with --channels {channels}"
        )


class TorchRefiner:
    """A PyTorch or TorchScript refiner with the uint8 NHWC `refine` call."""

    def __init__(self, module: nn.Module, channels: int, device, kind: str, source: str) -> None:
        self.module = module.eval()
        self.channels = channels
        self.device = torch.device(device)
        self.kind = kind  # "pytorch" | "torchscript"
        self.source = source

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) float in [-1, 1] -> refined, same shape, on x's device."""
        return self.module(x.to(self.device)).to(x.device)

    @torch.no_grad()
    def refine(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """uint8 (N, H, W, C) -> refined uint8 (N, H, W, C)."""
        from simgan.refine import refine_array

        _check_images(images, self.channels, self.source)
        return refine_array(self.module, images, batch_size, self.device)


class OnnxRefiner:
    """An exported .onnx refiner run with onnxruntime; same calls as TorchRefiner."""

    kind = "onnx"

    def __init__(self, path: str | os.PathLike, device="cpu", threads: int = 0) -> None:
        _, ort = _need_onnx()
        self.source = str(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)  # 0: onnxruntime's own choice
        opts.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise SimganError(
                    f"device {device} asked for, but this onnxruntime has no CUDA provider; "
                    "install onnxruntime-gpu or use --device cpu"
                )
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as e:  # onnxruntime raises its own exception types
            raise SimganError(
                f"{path}: not a loadable ONNX model ({str(e).splitlines()[0][:120]}); "
                "export it again with simgan export"
            ) from None
        (inp,) = self.session.get_inputs()
        if len(inp.shape) != 4 or not isinstance(inp.shape[1], int):
            raise SimganError(f"{path}: input {inp.shape} is not (N, C, H, W); not a refiner")
        self.channels = int(inp.shape[1])
        self.input_name = inp.name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 (N, C, H, W) in [-1, 1] -> refined float32 (N, C, H, W)."""
        return self.session.run(None, {self.input_name: x})[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) float tensor in [-1, 1] -> refined tensor, same shape and device."""
        y = self.run(x.detach().float().cpu().numpy())
        return torch.from_numpy(y).to(x.device)

    def refine(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """uint8 (N, H, W, C) -> refined uint8 (N, H, W, C)."""
        _check_images(images, self.channels, self.source)
        out = np.empty_like(images)
        for s in range(0, len(images), batch_size):
            x = _u8_to_float(images[s : s + batch_size])
            out[s : s + batch_size] = _float_to_u8(self.run(x))
        return out


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives hold compiled code; torch.save checkpoints do not."""
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n or n.endswith("/constants.pkl") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _load_file(path: Path, fmt: str, device) -> TorchRefiner | OnnxRefiner:
    if fmt == "onnx":
        return OnnxRefiner(path, device)
    extra = {METADATA_FILE: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except RuntimeError as e:
        raise SimganError(f"{path}: not a loadable TorchScript file ({str(e)[:120]})") from None
    meta = json.loads(extra[METADATA_FILE] or "{}")
    channels = meta.get("channels")
    if channels is None:  # a TorchScript refiner exported elsewhere: read its first conv
        weights = [p for p in module.parameters() if p.ndim == 4]
        if not weights:
            raise SimganError(f"{path}: TorchScript module has no conv weights; not a refiner")
        channels = weights[0].shape[1]
    return TorchRefiner(module, int(channels), device, "torchscript", str(path))


def load_any_refiner(
    path_or_run: str | os.PathLike, device: str | torch.device = "cpu"
) -> TorchRefiner | OnnxRefiner:
    """A refiner from a run folder, a simgan checkpoint, a .onnx file or a TorchScript file.

    The result has `.channels`, `.kind` ("pytorch" | "torchscript" | "onnx"),
    `.refine(uint8 (N, H, W, C)) -> uint8 (N, H, W, C)` and is callable on float
    (N, C, H, W) tensors in [-1, 1].
    """
    p = Path(path_or_run)
    if not p.exists():
        raise SimganError(f"{p}: no such run folder, checkpoint, .onnx or TorchScript file")
    if p.is_file() and p.suffix.lower() == ".onnx":
        return OnnxRefiner(p, device)
    if p.is_file() and _is_torchscript(p):
        return _load_file(p, "torchscript", device)
    from simgan.refine import load_refiner

    module, _, channels = load_refiner(p, device)
    return TorchRefiner(module, channels, device, "pytorch", str(p))
