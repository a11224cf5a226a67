"""Load a trained refiner from whatever a user has: a run folder, a simgan checkpoint, an
exported TorchScript file or an .onnx file.

`load_refiner` gives the plain nn.Module of a run (with its config); `load_any_refiner`
gives a uniform wrapper for every source:

    model = load_any_refiner("refiner.onnx")     # or a run folder, checkpoint, TorchScript
    refined = model.refine(images)               # uint8 (N, H, W, C) -> uint8 (N, H, W, C)
    y = model(x)                                 # float (N, C, H, W) in [-1, 1], same shape

Every wrapper is a callable on float tensors, so `refine_array` / `refine_file` take it in
place of an nn.Module.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from simgan.config import Config, from_dict
from simgan.errors import SimganError
from simgan.models import build_refiner
from simgan.optional import need_onnx
from simgan.refine.files import refine_array
from simgan.threads import worker_count
from simgan.training.checkpoint import load_checkpoint, refiner_checkpoint

METADATA_FILE = "simgan.json"  # TorchScript extra file holding the export metadata


def load_refiner(
    run_or_checkpoint: str | os.PathLike,
    device: str | torch.device = "cpu",
    checkpoint: str = "best",
) -> tuple[nn.Module, Config, int]:
    """The trained refiner of a run (folder or checkpoint file), in eval mode.

    For a run folder, `checkpoint` picks best.pt (what checkpoint selection kept, where the
    run used it; otherwise last.pt) or "last". Returns (refiner, config, channels).
    """
    path = refiner_checkpoint(run_or_checkpoint, checkpoint)
    ckpt = load_checkpoint(path, map_location=device)
    cfg = from_dict(Config, ckpt["config"])
    channels = int(ckpt["data"]["real"]["shape"][0])
    refiner = build_refiner(cfg.model.refiner, channels, **cfg.model.refiner_options())
    refiner.load_state_dict(ckpt["refiner"])
    return refiner.to(device).eval(), cfg, channels


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
        _check_images(images, self.channels, self.source)
        return refine_array(self, images, batch_size, self.device)


class OnnxRefiner:
    """An exported .onnx refiner run with onnxruntime; same calls as TorchRefiner.

    threads: onnxruntime's intra-op threads; 0 = the free cores (simgan.threads)."""

    kind = "onnx"

    def __init__(self, path: str | os.PathLike, device="cpu", threads: int = 0) -> None:
        _, ort = need_onnx()
        self.source = str(path)
        opts = ort.SessionOptions()
        # 0: the free cores (simgan.threads), as training does; onnxruntime's own choice is
        # one per core, which waits for busy cores on a shared machine
        opts.intra_op_num_threads = worker_count(threads)[0]
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
        return refine_array(self, images, batch_size)


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives hold compiled code; torch.save checkpoints do not."""
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n or n.endswith("/constants.pkl") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_torchscript(path: str | os.PathLike, device="cpu") -> TorchRefiner:
    """A TorchScript refiner file (exported by simgan or elsewhere), wrapped."""
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
    path_or_run: str | os.PathLike, device: str | torch.device = "cpu", checkpoint: str = "best"
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
        return load_torchscript(p, device)
    module, _, channels = load_refiner(p, device, checkpoint)
    return TorchRefiner(module, channels, device, "pytorch", str(p))
