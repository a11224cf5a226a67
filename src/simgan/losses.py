"""SimGAN's losses as pure functions: local adversarial loss and self-regularization.

Conventions (the paper's): D outputs 2 logits per patch, class REAL = 0 and REFINED = 1,
so D(x) = softmax(logits)[1] is the probability that x is refined and
-log(1 - D(x)) is the cross-entropy against class REAL.

Normalisation: every loss here is a MEAN (over patches and images, or over elements), not
the paper's sum, so its size does not depend on the batch size, the image size or the
patch-map size. lambda_reg is therefore relative to a per-patch cross-entropy and a
per-pixel L1 distance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

REAL = 0
REFINED = 1
PSI = ("identity", "mean", "downsample")


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


def psi_transform(x: torch.Tensor, psi: str = "identity") -> torch.Tensor:
    """The feature map psi of the self-regularization loss. x: (N, C, H, W).

    "identity": x (the paper's choice for eyes and hands); "mean": mean over channels,
    (N, 1, H, W), which lets colour drift but keeps intensity; "downsample": 2x2 average
    pool, (N, C, ceil(H/2), ceil(W/2)), which keeps coarse content only.
    """
    if psi == "identity":
        return x
    if psi == "mean":
        return x.mean(dim=1, keepdim=True)
    if psi == "downsample":
        # ceil_mode averages the partial window on an odd edge instead of dropping that row.
        return F.avg_pool2d(x, 2, ceil_mode=True)
    raise ValueError(f"unknown psi {psi!r}; choose one of {list(PSI)}")


def self_regularization_loss(
    refined: torch.Tensor, synthetic: torch.Tensor, lambda_reg: float, psi: str = "identity"
) -> torch.Tensor:
    """lambda_reg * mean |psi(refined) - psi(synthetic)|: the paper's ||.||_1 divided by the
    number of elements of psi's output (N * C' * H' * W'). Both inputs (N, C, H, W)."""
    if refined.shape != synthetic.shape:
        raise ValueError(
            f"refined {tuple(refined.shape)} and synthetic {tuple(synthetic.shape)} differ"
        )
    diff = psi_transform(refined.float(), psi) - psi_transform(synthetic.float(), psi)
    return lambda_reg * diff.abs().mean()


def refiner_loss(
    d_logits_on_refined: torch.Tensor,
    refined: torch.Tensor,
    synthetic: torch.Tensor,
    lambda_reg: float,
    psi: str = "identity",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The refiner's loss: (total, adv, reg) with total = adv + reg.

    adv = local_adversarial_loss(D(R(x)), REAL), i.e. mean -log(1 - D(R(x))) per patch: R
    wants its images classified as real. reg = self_regularization_loss(...), already
    multiplied by lambda_reg. d_logits_on_refined must be computed WITHOUT detaching R(x)
    so that the adversarial gradient reaches the refiner.
    """
    adv = local_adversarial_loss(d_logits_on_refined, REAL)
    reg = self_regularization_loss(refined, synthetic, lambda_reg, psi)
    return adv + reg, adv, reg


def discriminator_loss(logits_real: torch.Tensor, logits_refined: torch.Tensor) -> torch.Tensor:
    """CE(logits_real, REAL) + CE(logits_refined, REFINED): the SUM of the two per-patch
    means, so each side counts equally whatever its batch size (the paper's sum over
    -log(1 - D(real)) and -log D(refined) with equal batch sizes, divided by patches x b)."""
    return local_adversarial_loss(logits_real, REAL) + local_adversarial_loss(
        logits_refined, REFINED
    )


def patch_accuracy(logits: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """Share of patches whose argmax class is ``target`` (int or (N,) tensor), a float
    scalar tensor in [0, 1]. Ties (equal logits) count as class 0 (REAL)."""
    pred = logits.argmax(dim=1)  # (N, h, w)
    return (pred == _target_map(logits, target)).float().mean()
