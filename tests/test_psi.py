"""The feature maps psi and distances of the self-regularization loss, on known inputs."""

from __future__ import annotations

import pytest
import torch

from simgan.losses import psi_transform, self_regularization_loss
from simgan.models import RandomFeatures
from simgan.psi import gaussian_blur, image_gradients, local_contrast_normalize


def _eye(shift: int = 0) -> torch.Tensor:
    """(1, 1, 24, 32) a dark disc ('pupil') on a bright ground, centre moved by shift px."""
    ys, xs = torch.meshgrid(torch.arange(24.0), torch.arange(32.0), indexing="ij")
    r2 = (ys - 12) ** 2 + (xs - 16 - shift) ** 2
    return (0.6 - 1.2 * torch.exp(-r2 / 18)).view(1, 1, 24, 32)


def test_blur_keeps_a_flat_image_flat():
    x = torch.full((2, 3, 9, 11), 0.3)
    assert torch.allclose(gaussian_blur(x, 2.0), x, atol=1e-6)
    assert gaussian_blur(torch.rand(1, 1, 3, 3), 2.0).shape == (1, 1, 3, 3)  # tiny: replicate


def test_lcn_ignores_brightness_and_contrast():
    x = torch.rand(2, 1, 16, 20, dtype=torch.float64) * 2 - 1
    a = local_contrast_normalize(x, sigma=2.0, eps=0.0)
    b = local_contrast_normalize(3 * x + 20, sigma=2.0, eps=0.0)
    assert torch.allclose(a, b, atol=1e-8)
    # with the default floor eps only approximately, and the output is not trivially 0
    c = psi_transform(3 * x.float() + 0.5, "lcn", eps=1e-4)
    assert torch.allclose(psi_transform(x.float(), "lcn", eps=1e-4), c, atol=1e-3)
    assert a.abs().mean() > 0.3


def test_lcn_charges_a_shift_more_than_an_appearance_change():
    # the order issue 14 measured: the pixel L1 charges the appearance change more
    x, shifted, restyled = _eye(), _eye(2), 0.4 * _eye() + 0.3
    l1 = {
        k: self_regularization_loss(v, x, 1.0).item() for k, v in [("s", shifted), ("a", restyled)]
    }
    lcn = {
        k: self_regularization_loss(v, x, 1.0, "lcn").item()
        for k, v in [("s", shifted), ("a", restyled)]
    }
    assert l1["a"] > 1.5 * l1["s"]
    assert lcn["s"] > 1.5 * lcn["a"]


def test_gradients_of_a_ramp_and_their_normalization():
    ramp = torch.arange(10.0).view(1, 1, 1, 10).expand(2, 1, 6, 10).contiguous() * 0.1
    g = image_gradients(ramp)
    assert g.shape == (2, 2, 6, 10)
    assert torch.allclose(g[:, 0, :, 1:-1], torch.full((2, 6, 8), 0.1))  # d/dx interior
    assert torch.allclose(g[:, 0, :, 0], torch.full((2, 6), 0.05))  # replicated edge
    assert torch.equal(g[:, 1], torch.zeros(2, 6, 10))  # d/dy of a horizontal ramp
    assert torch.equal(image_gradients(torch.full((1, 1, 5, 5), 0.7)), torch.zeros(1, 2, 5, 5))
    x = torch.rand(2, 1, 8, 8)
    n1 = psi_transform(x, "gradients", normalize=True)
    n3 = psi_transform(3 * x - 0.2, "gradients", normalize=True)
    assert torch.allclose(n1, n3, atol=1e-5)
    assert not torch.allclose(psi_transform(x, "gradients"), psi_transform(3 * x, "gradients"))


def test_si_mse_of_a_constant_offset_is_zero_and_by_hand():
    x = torch.rand(3, 1, 5, 7) * 2 - 1
    offsets = torch.tensor([0.3, -0.5, 0.1]).view(3, 1, 1, 1)
    assert self_regularization_loss(x + offsets, x, 2.0, distance="si_mse").item() == pytest.approx(
        0.0, abs=1e-6
    )
    assert self_regularization_loss(x + offsets, x, 1.0).item() == pytest.approx(0.3, abs=1e-5)
    # d = [0, 2] on one image: mean d^2 = 2, (mean d)^2 = 1
    syn = torch.zeros(1, 1, 1, 2)
    ref = torch.tensor([0.0, 2.0]).view(1, 1, 1, 2)
    assert self_regularization_loss(ref, syn, 0.5, distance="si_mse").item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="distance"):
        self_regularization_loss(ref, syn, 1.0, distance="l2")


def test_si_mse_gradient_has_no_constant_component():
    syn = torch.rand(2, 1, 6, 6)
    ref = (syn + 0.2 * torch.rand(2, 1, 6, 6)).requires_grad_(True)
    self_regularization_loss(ref, syn, 1.0, distance="si_mse").backward()
    assert ref.grad.abs().sum() > 0
    assert torch.allclose(ref.grad.sum(dim=(1, 2, 3)), torch.zeros(2), atol=1e-6)


def test_random_features_are_frozen_seeded_and_pass_gradients():
    net = RandomFeatures(1, seed=3)
    assert all(not p.requires_grad for p in net.parameters())
    assert not net.train().training  # stays in eval mode
    same, other = RandomFeatures(1, seed=3), RandomFeatures(1, seed=4)
    for a, b in zip(net.parameters(), same.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(net.net[0].weight, other.net[0].weight)
    before = torch.get_rng_state()
    RandomFeatures(1, seed=5)
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is not touched
    x = (torch.rand(2, 1, 12, 12) * 2 - 1).requires_grad_(True)
    f = psi_transform(x, "features", features=net)
    assert f.shape == (2, 16, 6, 6)
    self_regularization_loss(x, torch.zeros_like(x), 1.0, lambda t: net(t)).backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="frozen feature network"):
        psi_transform(x, "features")


def test_every_psi_gives_zero_for_equal_images_and_gradient_otherwise():
    syn = torch.rand(2, 1, 10, 10) * 2 - 1
    net = RandomFeatures(1)
    for psi in ("identity", "mean", "downsample", "lcn", "gradients", "features"):
        kw = {"features": net} if psi == "features" else {}

        def transform(t, psi=psi, kw=kw):
            return psi_transform(t, psi, **kw)

        assert self_regularization_loss(syn, syn, 1.0, transform).item() == 0.0
        ref = (syn + 0.1 * torch.randn_like(syn)).requires_grad_(True)
        self_regularization_loss(ref, syn, 1.0, transform).backward()
        assert torch.isfinite(ref.grad).all() and ref.grad.abs().sum() > 0, psi
