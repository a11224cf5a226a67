"""One SimGAN update of each network (Algorithm 1's inner steps).

`refiner_update` is one gradient step of R (self-regularization alone while pretraining,
plus the local adversarial loss through a fixed D afterwards); `discriminator_update` is one
step of D on real images and refined images mixed with the history buffer;
`adversarial_step` is one step of the full schedule: K_g of the first, then K_d of the
second. Every R forward is needed: K_g with gradients (R changes after each) and one without
per D update. With sync=False the updates return their metrics as device tensors, so the
host never waits for the GPU between steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from simgan.config import Config
from simgan.losses import (
    REAL,
    REFINED,
    discriminator_loss,
    patch_accuracy,
    refiner_loss,
    self_regularization_loss,
)
from simgan.training.state import TrainState


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
