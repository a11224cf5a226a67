"""Loss values against hand computation, and the gradient paths of SimGAN's objective."""

from __future__ import annotations

import math

import pytest
import torch

from simgan.losses import (
    REAL,
    REFINED,
    discriminator_loss,
    local_adversarial_loss,
    patch_accuracy,
    psi_transform,
    refiner_loss,
    self_regularization_loss,
)
from simgan.models import build_discriminator, build_refiner

LN2 = math.log(2)


def test_class_convention():
    assert (REAL, REFINED) == (0, 1)


def test_uniform_logits_give_ln2():
    logits = torch.zeros(3, 2, 9, 14)
    assert local_adversarial_loss(logits, REAL).item() == pytest.approx(LN2)
    assert local_adversarial_loss(logits, REFINED).item() == pytest.approx(LN2)
    assert discriminator_loss(logits, logits).item() == pytest.approx(2 * LN2)


def test_adversarial_loss_by_hand():
    # two images, 1 x 2 patches each: logits (l_real, l_refined) per patch
    pairs = [[(0.0, 1.0), (2.0, -1.0)], [(0.5, 0.5), (-3.0, 1.0)]]
    logits = torch.tensor(pairs).view(2, 1, 2, 2).permute(0, 3, 1, 2)  # (2, 2, 1, 2)
    flat = [p for img in pairs for p in img]

    def ce(a: float, b: float, target: int) -> float:  # -log softmax[target]
        z = math.log(math.exp(a) + math.exp(b))
        return z - (a, b)[target]

    for target in (REAL, REFINED):
        expected = sum(ce(a, b, target) for a, b in flat) / len(flat)
        assert local_adversarial_loss(logits, target).item() == pytest.approx(expected, 1e-6)
    # per-image targets: image 0 real, image 1 refined
    per_image = torch.tensor([REAL, REFINED])
    expected = (
        sum(ce(a, b, REAL) for a, b in pairs[0]) + sum(ce(a, b, 1) for a, b in pairs[1])
    ) / 4
    assert local_adversarial_loss(logits, per_image).item() == pytest.approx(expected, 1e-6)
    with pytest.raises(ValueError):
        local_adversarial_loss(logits, torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError):
        local_adversarial_loss(torch.zeros(2, 3, 1, 1), REAL)


def test_refiner_adversarial_term_is_minus_log_one_minus_d():
    torch.manual_seed(0)
    logits = torch.randn(4, 2, 3, 5)
    d_refined = logits.softmax(dim=1)[:, REFINED]  # D(R(x)) per patch
    x = torch.zeros(4, 1, 6, 10)
    total, adv, reg = refiner_loss(logits, x, x, lambda_reg=0.5)
    assert adv.item() == pytest.approx((-torch.log(1 - d_refined)).mean().item(), 1e-5)
    assert reg.item() == 0 and total.item() == pytest.approx(adv.item())


def test_self_regularization_by_hand():
    synthetic = torch.zeros(2, 3, 4, 6)
    refined = synthetic.clone()
    refined[1, 2, 3, 5] = 0.6
    refined[0, 0, 0, 0] = -0.3
    n = synthetic.numel()
    loss = self_regularization_loss(refined, synthetic, 0.5, "identity")
    assert loss.item() == pytest.approx(0.5 * 0.9 / n)
    assert self_regularization_loss(refined, synthetic, 0.0).item() == 0
    # "mean": channel means first, so equal and opposite channel edits cancel
    cancel = synthetic.clone()
    cancel[0, 0, 1, 1], cancel[0, 1, 1, 1] = 0.4, -0.4
    assert self_regularization_loss(cancel, synthetic, 1.0, "mean").item() == 0
    assert self_regularization_loss(cancel, synthetic, 1.0).item() > 0
    assert self_regularization_loss(refined, synthetic, 1.0, "mean").item() == pytest.approx(
        (0.6 / 3 + 0.3 / 3) / (2 * 4 * 6)
    )
    _, _, reg = refiner_loss(torch.zeros(2, 2, 1, 1), refined, synthetic, 0.5)
    assert reg.item() == pytest.approx(loss.item())


def test_psi_downsample_keeps_odd_edges():
    x = torch.arange(15.0).view(1, 1, 3, 5)
    y = psi_transform(x, "downsample")
    assert y.shape == (1, 1, 2, 3)
    assert y[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 5 + 6) / 4)
    assert y[0, 0, 1, 2].item() == pytest.approx(14.0)  # the lone corner pixel
    refined = torch.zeros(1, 1, 3, 5)
    refined[0, 0, 2, 4] = 1.0  # only the odd edge changes
    assert self_regularization_loss(refined, torch.zeros_like(refined), 1.0, "downsample") > 0
    with pytest.raises(ValueError, match="psi"):
        psi_transform(x, "vgg")
    with pytest.raises(ValueError, match="differ"):
        self_regularization_loss(x, x[..., :4], 1.0)


def test_discriminator_loss_is_sum_of_two_means():
    torch.manual_seed(0)
    real, refined = torch.randn(4, 2, 3, 3), torch.randn(6, 2, 3, 3)
    expected = local_adversarial_loss(real, REAL) + local_adversarial_loss(refined, REFINED)
    assert discriminator_loss(real, refined).item() == pytest.approx(expected.item())
    confident = torch.zeros(2, 2, 3, 3)
    confident[:, REAL] = 20.0
    swapped = confident.flip(1)
    assert discriminator_loss(confident, swapped).item() < 1e-6  # perfect D
    assert discriminator_loss(swapped, confident).item() > 30  # perfectly wrong D


def test_patch_accuracy():
    logits = torch.zeros(2, 2, 2, 2)
    logits[0, REFINED] = 1.0  # image 0: all 4 patches say refined
    logits[1, REFINED, 0, 0] = 1.0  # image 1: 1 patch refined, 3 ties -> real
    assert patch_accuracy(logits, REFINED).item() == pytest.approx(5 / 8)
    assert patch_accuracy(logits, REAL).item() == pytest.approx(3 / 8)
    assert patch_accuracy(logits, torch.tensor([REFINED, REAL])).item() == pytest.approx(7 / 8)
    assert patch_accuracy(logits, REAL).dtype == torch.float32


def test_refiner_gets_adversarial_gradient_through_d():
    torch.manual_seed(0)
    r, d = build_refiner("tiny", 1), build_discriminator("tiny", 1)
    d.requires_grad_(False)  # D fixed while R updates
    synthetic = torch.rand(4, 1, 8, 8) * 2 - 1
    refined = r(synthetic)
    total, adv, reg = refiner_loss(d(refined), refined, synthetic, lambda_reg=0.0)
    assert reg.item() == 0
    total.backward()
    grads = [p.grad for p in r.parameters()]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0
    assert all(p.grad is None for p in d.parameters())


def test_discriminator_step_does_not_reach_refiner():
    r, d = build_refiner("tiny", 1), build_discriminator("tiny", 1)
    synthetic, real = torch.rand(2, 1, 8, 8) * 2 - 1, torch.rand(2, 1, 8, 8) * 2 - 1
    loss = discriminator_loss(d(real), d(r(synthetic).detach()))
    loss.backward()
    assert all(p.grad is None for p in r.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())
