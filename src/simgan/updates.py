"""One SimGAN update of each network, and the state they evolve (Algorithm 1's inner steps).

`refiner_update` is one gradient step of R (self-regularization alone while pretraining,
plus the local adversarial loss through a fixed D afterwards); `discriminator_update` is one
step of D on real images and refined images mixed with the history buffer. Every R forward
is needed: K_g with gradients (R changes after each) and one without per D update.

Speed (cfg.perf, applied by `build_state`): bf16 autocast where the hardware multiplies bf16
natively, channels_last activations, optional torch.compile. With sync=False the updates
return their metrics as device tensors, so the host never waits for the GPU between steps.
Under torchrun both networks are wrapped in DistributedDataParallel (see distributed.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from simgan import distributed as dist_
from simgan.config import Config, PerfConfig
from simgan.errors import SimganError
from simgan.history import HistoryBuffer
from simgan.losses import (
    REAL,
    REFINED,
    discriminator_loss,
    patch_accuracy,
    refiner_loss,
    self_regularization_loss,
)
from simgan.models import build_discriminator, build_refiner


@dataclass
class TrainState:
    """Everything that evolves during training (all of it goes into the checkpoint), and
    how the updates run the networks.

    The compiled_* and ddp_* modules (torch.compile, DistributedDataParallel) share the
    parameters of `refiner` and `discriminator`, the plain modules that checkpoints hold;
    None means: call the plain module.
    """

    refiner: nn.Module
    discriminator: nn.Module
    opt_refiner: torch.optim.Optimizer
    opt_discriminator: torch.optim.Optimizer
    history: HistoryBuffer
    data_generator: torch.Generator  # batch sampling
    step: int = 0
    compiled_refiner: nn.Module | None = None
    compiled_discriminator: nn.Module | None = None
    ddp_refiner: nn.Module | None = None  # averages R's gradients over the ranks
    ddp_discriminator: nn.Module | None = None
    amp_dtype: torch.dtype | None = None  # autocast dtype (bf16), None for float32
    channels_last: bool = False

    # The module each use calls: gradients averaged over ranks (DDP) where the network is
    # being updated, the plain (compiled) module where it is fixed.
    @property
    def refiner_train(self) -> nn.Module:
        return _first(self.ddp_refiner, self.compiled_refiner, self.refiner)

    @property
    def refiner_fixed(self) -> nn.Module:
        return _first(self.compiled_refiner, self.refiner)

    @property
    def discriminator_train(self) -> nn.Module:
        return _first(self.ddp_discriminator, self.compiled_discriminator, self.discriminator)

    @property
    def discriminator_fixed(self) -> nn.Module:
        return _first(self.compiled_discriminator, self.discriminator)

    @property
    def device(self) -> torch.device:
        return next(self.refiner.parameters()).device

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W) in the networks' memory format."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def _first(*modules: nn.Module | None) -> nn.Module:
    return next(m for m in modules if m is not None)  # not `or`: modules may define __len__


def resolve_device(name: str) -> torch.device:
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


def make_optimizer(cfg: Config, params, lr: float) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return torch.optim.Adam(params, lr=lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay)


def build_state(
    cfg: Config, channels: int, device: torch.device, *, dist_env: dist_.DistEnv | None = None
) -> TrainState:
    """Fresh networks, optimizers and buffer, all seeded from cfg.seed, set up as cfg.perf
    asks. With `dist_env` of several ranks (process group joined), both networks are wrapped
    in DDP, and the buffer and data generator are this rank's: a 1/WORLD_SIZE share of
    train.history_capacity and seeds of their own."""
    env = dist_env or dist_.DistEnv()
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    refiner = build_refiner(cfg.model.refiner, channels).to(device)
    discriminator = build_discriminator(cfg.model.discriminator, channels).to(device)
    if cfg.perf.channels_last:
        refiner.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    state = TrainState(
        refiner=refiner,
        discriminator=discriminator,
        opt_refiner=make_optimizer(cfg, refiner.parameters(), cfg.optim.lr_refiner),
        opt_discriminator=make_optimizer(
            cfg, discriminator.parameters(), cfg.optim.lr_discriminator
        ),
        history=HistoryBuffer(
            cfg.train.history_capacity // env.world_size,
            seed=dist_.rank_seed(cfg.seed, 2, env.rank),
            device=device,
        ),
        data_generator=torch.Generator().manual_seed(dist_.rank_seed(cfg.seed, 1, env.rank)),
        amp_dtype=resolve_amp(cfg.perf, device),
        channels_last=cfg.perf.channels_last,
    )
    if cfg.perf.compile:
        state.compiled_refiner = torch.compile(refiner)
        state.compiled_discriminator = torch.compile(discriminator)
    if env.enabled:
        state.ddp_refiner = dist_.wrap(state.refiner_fixed, device)
        state.ddp_discriminator = dist_.wrap(state.discriminator_fixed, device)
    return state


# -- one update of each network ---------------------------------------------------------------


def _metrics(out: dict[str, torch.Tensor], sync: bool) -> dict[str, Any]:
    """Detached scalar tensors, or (sync) Python floats read in one device round trip."""
    if not sync:
        return out
    return dict(zip(out, torch.stack(list(out.values())).tolist(), strict=True))


def refiner_update(
    state: TrainState,
    cfg: Config,
    synthetic: torch.Tensor,
    adversarial: bool,
    *,
    sync: bool = True,
) -> dict[str, Any]:
    """One gradient step of R. synthetic: (B, C, H, W) in [-1, 1] on the device.

    Returns float metrics, or 0-d tensors with sync=False (no wait for the GPU)."""
    x = state.layout(synthetic)
    with state.autocast():
        refined = state.refiner_train(x)
        if adversarial:
            # D is fixed: its plain module with frozen parameters, so the gradient flows to R
            # only and D's DDP wrapper (whose gradient hooks would expect a D update) stays out.
            state.discriminator.requires_grad_(False)
            try:
                logits = state.discriminator_fixed(refined)
            finally:
                state.discriminator.requires_grad_(True)
            total, adv, reg = refiner_loss(logits, refined, x, cfg.loss.lambda_reg, cfg.loss.psi)
        else:
            # pretraining: self-regularization alone, so R starts out as (close to) the identity
            total = reg = self_regularization_loss(refined, x, 1.0, cfg.loss.psi)
            adv = None
    state.opt_refiner.zero_grad(set_to_none=True)
    total.backward()
    state.opt_refiner.step()
    out = {"refiner_loss": total.detach(), "refiner_reg": reg.detach()}
    if adv is not None:
        out["refiner_adv"] = adv.detach()
    return _metrics(out, sync)


def discriminator_update(
    state: TrainState, synthetic: torch.Tensor, real: torch.Tensor, *, sync: bool = True
) -> dict[str, Any]:
    """One gradient step of D on real images and history-mixed refined images (R fixed).

    synthetic, real: (B, C, H, W) in [-1, 1] on the device. Returns metrics like
    refiner_update."""
    with torch.no_grad(), state.autocast():
        refined = state.refiner_fixed(state.layout(synthetic)).float()
    mixed = state.history.mix(refined)  # (B, C, H, W): current rows first, then history rows
    n_current = len(mixed) - state.history.last_history_rows
    with state.autocast():
        both = state.layout(torch.cat([real, mixed.to(real.dtype)]))
        logits = state.discriminator_train(both)  # (2B, 2, h, w)
        logits_real, logits_refined = logits[: len(real)], logits[len(real) :]
        loss = discriminator_loss(logits_real, logits_refined)
    state.opt_discriminator.zero_grad(set_to_none=True)
    loss.backward()
    state.opt_discriminator.step()
    with torch.no_grad():
        out = {
            "d_loss": loss.detach(),
            "d_acc_real": patch_accuracy(logits_real, REAL),
            "d_acc_refined": patch_accuracy(logits_refined[:n_current], REFINED),
        }
        if n_current < len(mixed):
            out["d_acc_history"] = patch_accuracy(logits_refined[n_current:], REFINED)
    return _metrics(out, sync)


def adversarial_step(
    state: TrainState,
    cfg: Config,
    next_synthetic: Callable[[], torch.Tensor],
    next_real: Callable[[], torch.Tensor],
    *,
    sync: bool = True,
) -> dict[str, Any]:
    """One step of Algorithm 1: K_g refiner updates (D fixed), then K_d discriminator updates
    (R fixed). The batch callables are drawn in a fixed order (each D update: synthetic, then
    real), which exact resume relies on. Returns the metrics of the last update of each kind."""
    m: dict[str, Any] = {}
    for _ in range(cfg.train.k_g):
        m.update(refiner_update(state, cfg, next_synthetic(), True, sync=sync))
    for _ in range(cfg.train.k_d):
        synthetic = next_synthetic()
        m.update(discriminator_update(state, synthetic, next_real(), sync=sync))
    return m
