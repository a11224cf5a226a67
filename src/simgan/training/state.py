"""The state SimGAN training evolves (networks, optimizers, history buffer, generators) and
how it is built from a config.

Speed (cfg.perf, applied by `build_state`): bf16 autocast where the hardware multiplies bf16
natively, channels_last activations, optional torch.compile. Under torchrun both networks
are wrapped in DistributedDataParallel (see distributed.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

from simgan.augment import Augment
from simgan.config import Config
from simgan.device import resolve_amp
from simgan.history import HistoryBuffer
from simgan.models import RandomFeatures, build_discriminator, build_refiner
from simgan.psi import psi_transform
from simgan.training import distributed as dist_
from simgan.training.label_model import load_label_model


@dataclass
class TrainState:
    """Everything that evolves during training (all of it goes into the checkpoint), and
    how the updates run the networks.

    `refiner` and `discriminator` are the plain modules that checkpoints hold. The updates
    call the *_train module of the network they update (its DistributedDataParallel wrapper
    under torchrun, which averages gradients over the ranks) and the *_fixed module of the
    network that only runs (never DDP, whose gradient hooks would expect an update); both
    are the torch.compile'd module with perf.compile. `build_state` sets all four; they
    share the plain modules' parameters.
    """

    refiner: nn.Module
    discriminator: nn.Module
    opt_refiner: torch.optim.Optimizer
    opt_discriminator: torch.optim.Optimizer
    history: HistoryBuffer
    data_generator: torch.Generator  # batch sampling
    step: int = 0
    refiner_train: nn.Module | None = None
    refiner_fixed: nn.Module | None = None
    discriminator_train: nn.Module | None = None
    discriminator_fixed: nn.Module | None = None
    amp_dtype: torch.dtype | None = None  # autocast dtype (bf16), None for float32
    channels_last: bool = False
    # checkpoint selection (selection.py): best score so far and its step; saved
    selection: dict[str, Any] = field(default_factory=dict)
    # What the losses use but training never changes (rebuilt from the config, not saved):
    # psi of the self-regularization (with its frozen network for psi="features"), the
    # frozen label estimator (None = no label term), D's input augmentation (its draws come
    # from data_generator, which the checkpoint saves).
    psi: Callable[[torch.Tensor], torch.Tensor] = psi_transform
    label_model: nn.Module | None = None
    augment: Augment = field(default_factory=Augment)

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
    m = cfg.model
    refiner = build_refiner(m.refiner, channels, **m.refiner_options()).to(device)
    discriminator = build_discriminator(
        m.discriminator, channels, spectral_norm=m.spectral_norm
    ).to(device)
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
        psi=build_psi(cfg, channels, device),
        label_model=build_label_model(cfg, device),
        augment=cfg.augment.build(),
    )
    r, d = refiner, discriminator
    if cfg.perf.compile:
        r, d = torch.compile(refiner), torch.compile(discriminator)
    state.refiner_fixed, state.discriminator_fixed = r, d
    if env.enabled:
        r, d = dist_.wrap(r, device), dist_.wrap(d, device)
    state.refiner_train, state.discriminator_train = r, d
    return state


def build_psi(cfg: Config, channels: int, device: torch.device) -> Callable:
    """psi of cfg.loss as a callable x -> features. psi="features" builds the frozen random
    network from its own seed (the global RNG is untouched, so R's and D's weights are the
    same as without it)."""
    loss = cfg.loss
    features = None
    if loss.psi == "features":
        features = RandomFeatures(channels, seed=loss.psi_features_seed).to(device)
    return partial(
        psi_transform,
        psi=loss.psi,
        sigma=loss.psi_sigma,
        eps=loss.psi_eps,
        normalize=loss.psi_normalize,
        features=features,
    )


def build_label_model(cfg: Config, device: torch.device) -> nn.Module | None:
    """The frozen gaze estimator or digit classifier of loss.label_model (label_model.py),
    or None when the label term is off."""
    if cfg.loss.lambda_label == 0:
        return None
    return load_label_model(cfg.loss.label_model, device)
