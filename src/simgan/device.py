"""Which device and which precision a command runs on: one choice for every command.

`resolve_device("auto")` is CUDA where available, else the CPU; `resolve_amp` turns
perf.amp (auto | bf16 | none) into an autocast dtype, bf16 only where the hardware multiplies
it natively (so autocast pays).
"""

from __future__ import annotations

import torch

from simgan.config import PerfConfig
from simgan.errors import SimganError


def resolve_device(name: str) -> torch.device:
    """auto | cpu | cuda | cuda:N -> a torch.device; a clear error where CUDA is missing."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SimganError(f"device '{name}' asked for, but no CUDA device is available")
    return torch.device(name)


def _cpu_has_bf16() -> bool:
    """True where the CPU multiplies bf16 natively (AVX512-BF16 or AMX), so autocast pays."""
    try:
        caps = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):
        return False
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))


def resolve_amp(perf: PerfConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype perf.amp asks for on `device`: torch.bfloat16, or None (float32)."""
    if perf.amp not in ("auto", "bf16", "none"):
        raise SimganError(f"perf.amp '{perf.amp}' must be auto, bf16 or none")
    if perf.amp == "none":
        return None
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if perf.amp == "bf16":
            raise SimganError(f"{device} has no bf16 support; set perf.amp=none")
        return None
    if device.type == "cpu" and (perf.amp == "bf16" or _cpu_has_bf16()):
        return torch.bfloat16
    return None
