"""SimGAN's losses as pure functions: local adversarial loss and self-regularization.

Conventions (the paper's): D outputs 2 logits per patch, class REAL = 0 and REFINED = 1,
so D(x) = softmax(logits)[1] is the probability that x is refined and
-log(1 - D(x)) is the cross-entropy against class REAL.

Normalisation: every loss here is a MEAN (over patches and images, or over elements), not
the paper's sum, so its size does not depend on the batch size, the image size or the
patch-map size. lambda_reg is therefore relative to a per-patch cross-entropy and a
per-pixel L1 distance.

Stabilizers of D (all off unless the config asks): one-sided label smoothing of the real
targets, the R1 gradient penalty on real images; and a label-consistency term for R. The
feature maps psi live in simgan.psi.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from simgan.psi import PSI, psi_transform  # noqa: F401  (PSI: re-exported for config)

REAL = 0
REFINED = 1
REG_DISTANCES = ("l1", "si_mse")


def _target_map(logits: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """(N, h, w) long class map from an int or a per-image (N,) tensor."""
    n, _, h, w = logits.shape
    if isinstance(target, torch.Tensor):
        if target.shape != (n,):
            raise ValueError(f"per-image target must have shape ({n},), got {tuple(target.shape)}")
        return target.to(device=logits.device, dtype=torch.long).view(n, 1, 1).expand(n, h, w)
    return torch.full((n, h, w), int(target), dtype=torch.long, device=logits.device)


def local_adversarial_loss(logits: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every patch against class ``target``, averaged over patches and batch.

    logits: (N, 2, h, w) from the discriminator. target: REAL (0), REFINED (1), or a (N,)
    long tensor with one class per image. Returns a scalar.
    """
    if logits.ndim != 4 or logits.shape[1] != 2:
        raise ValueError(f"logits must be (N, 2, h, w), got {tuple(logits.shape)}")
    # float32 so the mean over many patches is accurate under mixed precision
    return F.cross_entropy(logits.float(), _target_map(logits, target))


def self_regularization_loss(
    refined: torch.Tensor,
    synthetic: torch.Tensor,
    lambda_reg: float,
    psi: str | Callable[[torch.Tensor], torch.Tensor] = "identity",
    *,
    distance: str = "l1",
) -> torch.Tensor:
    """lambda_reg * distance(psi(refined), psi(synthetic)). Both inputs (N, C, H, W).

    psi: a name of simgan.psi (with its default options) or a callable x -> features.
    distance "l1": mean |d|, the paper's ||.||_1 divided by the number of elements of psi's
    output (N * C' * H' * W'). "si_mse": the scale-invariant MSE of PixelDA (Bousmalis et
    al. 2017), per image mean(d^2) - mean(d)^2, then the mean over images: a constant offset
    of an image costs nothing. d = psi(refined) - psi(synthetic)."""
    if refined.shape != synthetic.shape:
        raise ValueError(
            f"refined {tuple(refined.shape)} and synthetic {tuple(synthetic.shape)} differ"
        )
    transform = psi if callable(psi) else partial(psi_transform, psi=psi)
    diff = transform(refined.float()) - transform(synthetic.float())
    if distance == "l1":
        return lambda_reg * diff.abs().mean()
    if distance == "si_mse":
        d = diff.flatten(1)
        return lambda_reg * (d.pow(2).mean(dim=1) - d.mean(dim=1).pow(2)).mean()
    raise ValueError(f"unknown distance {distance!r}; choose one of {list(REG_DISTANCES)}")


def refiner_loss(
    d_logits_on_refined: torch.Tensor,
    refined: torch.Tensor,
    synthetic: torch.Tensor,
    lambda_reg: float,
    psi: str | Callable[[torch.Tensor], torch.Tensor] = "identity",
    *,
    distance: str = "l1",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The refiner's loss: (total, adv, reg) with total = adv + reg.

    adv = local_adversarial_loss(D(R(x)), REAL), i.e. mean -log(1 - D(R(x))) per patch: R
    wants its images classified as real. reg = self_regularization_loss(...), already
    multiplied by lambda_reg. d_logits_on_refined must be computed WITHOUT detaching R(x)
    so that the adversarial gradient reaches the refiner.
    """
    adv = local_adversarial_loss(d_logits_on_refined, REAL)
    reg = self_regularization_loss(refined, synthetic, lambda_reg, psi, distance=distance)
    return adv + reg, adv, reg


def discriminator_loss(
    logits_real: torch.Tensor, logits_refined: torch.Tensor, real_label_smoothing: float = 0.0
) -> torch.Tensor:
    """CE(logits_real, REAL) + CE(logits_refined, REFINED): the SUM of the two per-patch
    means, so each side counts equally whatever its batch size (the paper's sum over
    -log(1 - D(real)) and -log D(refined) with equal batch sizes, divided by patches x b).

    real_label_smoothing s > 0: one-sided label smoothing (Salimans et al. 2016), the real
    patches' target is the soft class distribution (REAL 1 - s, REFINED s), i.e.
    -(1 - s) log p_real - s log p_refined; refined targets stay hard."""
    if real_label_smoothing:
        real = soft_real_loss(logits_real, real_label_smoothing)
    else:
        real = local_adversarial_loss(logits_real, REAL)
    return real + local_adversarial_loss(logits_refined, REFINED)


def soft_real_loss(logits: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Mean per-patch cross-entropy against the soft target (REAL 1 - s, REFINED s).
    logits (N, 2, h, w). Returns a scalar."""
    if logits.ndim != 4 or logits.shape[1] != 2:
        raise ValueError(f"logits must be (N, 2, h, w), got {tuple(logits.shape)}")
    logp = F.log_softmax(logits.float(), dim=1)
    return -((1 - smoothing) * logp[:, REAL] + smoothing * logp[:, REFINED]).mean()


def r1_penalty(logits_real: torch.Tensor, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1 gradient penalty on real images (Mescheder et al. 2018):
    gamma / 2 * mean over images of ||d s(x) / d x||^2, where s(x) is the mean over patches
    of D's log-odds logit(D(x)) = l_REFINED - l_REAL.

    real: the very tensor D saw, with requires_grad, whose first N rows are the real images
    (further rows, e.g. refined images in the same batch, are ignored); logits_real: D's
    (N, 2, h, w) on those N rows. The graph is kept (create_graph) so the penalty trains D."""
    score = (logits_real[:, REFINED] - logits_real[:, REAL]).float().mean(dim=(1, 2))
    (grad,) = torch.autograd.grad(score.sum(), real, create_graph=True)
    grad = grad[: len(logits_real)]
    return 0.5 * gamma * grad.float().pow(2).flatten(1).sum(dim=1).mean()


def label_consistency_loss(prediction: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """How far a frozen estimator's prediction on R(x) is from x's synthetic label.

    Gaze: prediction (N, 3), label (N, 3) unit vectors: mean ||p/|p| - t||^2 = 2 - 2 cos of
    the angular error (smooth at zero, unlike the angle). Classes: prediction (N, K) logits,
    label (N,) integer ids: the cross-entropy."""
    if label.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        return F.cross_entropy(prediction.float(), label.long())
    if prediction.shape != label.shape or prediction.ndim != 2:
        raise ValueError(
            f"gaze prediction {tuple(prediction.shape)} and label {tuple(label.shape)} must "
            "both be (N, 3)"
        )
    p = F.normalize(prediction.float(), dim=1)
    return (p - label.float()).pow(2).sum(dim=1).mean()


def patch_accuracy(logits: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """Share of patches whose argmax class is ``target`` (int or (N,) tensor), a float
    scalar tensor in [0, 1]. Ties (equal logits) count as class 0 (REAL)."""
    pred = logits.argmax(dim=1)  # (N, h, w)
    return (pred == _target_map(logits, target)).float().mean()
