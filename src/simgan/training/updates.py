"""One SimGAN update of each network (Algorithm 1's inner steps).

`refiner_update` is one gradient step of R (self-regularization alone while pretraining,
plus the local adversarial loss through a fixed D afterwards); `discriminator_update` is one
step of D on real images and refined images mixed with the history buffer;
`adversarial_step` is one step of the full schedule: K_g of the first, then K_d of the
second. Every R forward is needed: K_g with gradients (R changes after each) and one without
per D update. With sync=False the updates return their metrics as device tensors, so the
host never waits for the GPU between steps.

Options of the config (all off by default): D sees its inputs through cfg.augment (real and
refined alike, and R's adversarial loss goes through the same transforms), D's real targets
may be smoothed and D may pay an R1 penalty (lazily, on steps divisible by loss.r1_every),
and R may pay a label-consistency term when the synthetic batch carries labels.
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
    label_consistency_loss,
    patch_accuracy,
    r1_penalty,
    refiner_loss,
    self_regularization_loss,
)
from simgan.training.monitor import batch_variety
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
    labels: torch.Tensor | None = None,
    sync: bool = True,
) -> dict[str, Any]:
    """One gradient step of R. synthetic: (B, C, H, W) in [-1, 1] on the device; labels:
    their synthetic labels ((B, 3) gaze or (B,) class ids), used by the label-consistency
    term when state.label_model is set (adversarial updates only).

    Returns float metrics, or 0-d tensors with sync=False (no wait for the GPU)."""
    x = state.layout(synthetic)
    loss = cfg.loss
    label = None
    with state.autocast():
        refined = state.refiner_train(x)
        if adversarial:
            # D is fixed: its plain module with frozen parameters, so the gradient flows to R
            # only and D's DDP wrapper (whose gradient hooks would expect a D update) stays out.
            seen = refined
            if state.augment.enabled:  # the same transforms as D's update, fresh draws
                seen = state.layout(state.augment(refined, state.data_generator))
            state.discriminator.requires_grad_(False)
            try:
                logits = state.discriminator_fixed(seen)
            finally:
                state.discriminator.requires_grad_(True)
            total, adv, reg = refiner_loss(
                logits, refined, x, loss.lambda_reg, state.psi, distance=loss.reg_distance
            )
            if state.label_model is not None and labels is not None:
                label = loss.lambda_label * label_consistency_loss(
                    state.label_model(refined), labels.to(refined.device)
                )
                total = total + label
        else:
            # pretraining: self-regularization alone, so R starts out as (close to) the identity
            total = reg = self_regularization_loss(
                refined, x, 1.0, state.psi, distance=loss.reg_distance
            )
            adv = None
    state.opt_refiner.zero_grad(set_to_none=True)
    total.backward()
    state.opt_refiner.step()
    out = {
        "refiner_loss": total.detach(),
        "refiner_reg": reg.detach(),
        "refined_variety": batch_variety(refined, x),  # the collapse check's metric
    }
    if adv is not None:
        out["refiner_adv"] = adv.detach()
    if label is not None:
        out["refiner_label"] = label.detach()
    return _metrics(out, sync)


def discriminator_update(
    state: TrainState,
    synthetic: torch.Tensor,
    real: torch.Tensor,
    *,
    cfg: Config | None = None,
    sync: bool = True,
) -> dict[str, Any]:
    """One gradient step of D on real images and history-mixed refined images (R fixed).

    synthetic, real: (B, C, H, W) in [-1, 1] on the device. cfg: its loss.real_label_smoothing
    and loss.r1_* (None: neither). Returns metrics like refiner_update."""
    smoothing = cfg.loss.real_label_smoothing if cfg is not None else 0.0
    r1_due = cfg is not None and cfg.loss.r1_gamma > 0 and state.step % cfg.loss.r1_every == 0
    with torch.no_grad(), state.autocast():
        refined = state.refiner_fixed(state.layout(synthetic)).float()
    mixed = state.history.mix(refined)  # (B, C, H, W): current rows first, then history rows
    n_current = len(mixed) - state.history.last_history_rows
    both = torch.cat([real, mixed.to(real.dtype)])
    if state.augment.enabled:  # one call: every image, real or refined, its own draws
        both = state.augment(both, state.data_generator)
    both = state.layout(both)
    if r1_due:  # the penalty differentiates D's output with respect to its (real) input
        both = both.detach().requires_grad_(True)
    with state.autocast():
        logits = state.discriminator_train(both)  # (2B, 2, h, w)
        logits_real, logits_refined = logits[: len(real)], logits[len(real) :]
        loss = discriminator_loss(logits_real, logits_refined, smoothing)
        if r1_due:
            # lazy regularization: every r1_every-th step, weighted by r1_every
            penalty = r1_penalty(logits_real, both, cfg.loss.r1_gamma * cfg.loss.r1_every)
            loss = loss + penalty
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
        if r1_due:
            out["d_r1"] = penalty.detach()
    return _metrics(out, sync)


def adversarial_step(
    state: TrainState,
    cfg: Config,
    next_synthetic: Callable[[], torch.Tensor | tuple[torch.Tensor, torch.Tensor]],
    next_real: Callable[[], torch.Tensor],
    *,
    sync: bool = True,
) -> dict[str, Any]:
    """One step of Algorithm 1: K_g refiner updates (D fixed), then K_d discriminator updates
    (R fixed). The batch callables are drawn in a fixed order (each D update: synthetic, then
    real), which exact resume relies on. next_synthetic may return (images, labels) for the
    label-consistency term. Returns the metrics of the last update of each kind."""
    m: dict[str, Any] = {}
    for _ in range(cfg.train.k_g):
        x, labels = _split(next_synthetic())
        m.update(refiner_update(state, cfg, x, True, labels=labels, sync=sync))
    for _ in range(cfg.train.k_d):
        synthetic, _ = _split(next_synthetic())
        m.update(discriminator_update(state, synthetic, next_real(), cfg=cfg, sync=sync))
    return m


def _split(batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(images, labels or None) of a batch given as images or as (images, labels)."""
    return batch if isinstance(batch, tuple) else (batch, None)
