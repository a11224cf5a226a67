"""Optional dependencies, checked in one place: each function imports an extra's packages
and returns them, or raises one clear message saying which extra to install."""

from __future__ import annotations

from types import ModuleType

from simgan.errors import SimganError


def need_onnx() -> tuple[ModuleType, ModuleType]:
    """(onnx, onnxruntime), from the `onnx` extra."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise SimganError(
            "ONNX export and inference need the onnx and onnxruntime packages; install them "
            "with: pip install 'simgan[onnx]'"
        ) from None
    return onnx, onnxruntime


def need_tensorboard() -> type:
    """torch.utils.tensorboard.SummaryWriter, which needs the `tensorboard` extra."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise SimganError(
            "log.tensorboard needs the tensorboard package; install it with: "
            "pip install 'simgan[tensorboard]' (or set log.tensorboard=false)"
        ) from None
    return SummaryWriter


def onnxruntime_has_cuda() -> bool:
    """True where onnxruntime is installed and can run on CUDA."""
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()
