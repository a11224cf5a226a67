"""The state SimGAN training evolves (networks, optimizers, history buffer, generators) and
how it is built from a config.

Speed (cfg.perf, applied by `build_state`): bf16 autocast where the hardware multiplies bf16
natively, channels_last activations, optional torch.compile. Under torchrun both networks
are wrapped in DistributedDataParallel (see distributed.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from simgan.config import Config
from simgan.device import resolve_amp
from simgan.history import HistoryBuffer
from simgan.models import build_discriminator, build_refiner
from simgan.training import distributed as dist_


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
