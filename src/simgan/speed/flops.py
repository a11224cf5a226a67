"""Model FLOPs, counted analytically per convolution.

One conv layer costs 2 * (C_in / groups) * C_out * k_h * k_w * H_out * W_out FLOPs per image
forward (a multiply and an add per weight per output pixel). The output sizes come from one
forward pass with hooks, so any preset and image size is counted exactly. Bias adds, ReLU,
tanh, pooling and the losses are left out: for SimGAN's networks they are under 1% of the
convolutions.

A backward pass costs 2x the forward: one product for the gradient w.r.t. the input, one
for the gradient w.r.t. the weights. So a network that is trained costs 3x its forward
(forward + backward); a network the gradient only flows THROUGH (D, frozen during a refiner
update) costs 2x (forward + input gradient). The first layer's input gradient, which
PyTorch skips, is counted anyway (under 0.3% for the eye networks).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_flops_per_image(model: nn.Module, channels: int, height: int, width: int) -> int:
    """Forward FLOPs of every nn.Conv2d in `model` for one (channels, height, width) image."""
    total = 0

    def hook(module: nn.Conv2d, inputs, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        c_in = module.in_channels // module.groups
        h_out, w_out = output.shape[-2:]
        total += 2 * c_in * module.out_channels * kh * kw * h_out * w_out

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, channels, height, width, device=device))
    finally:
        for h in handles:
            h.remove()
    return total


def adversarial_step_flops(
    refiner_flops: int, discriminator_flops: int, batch_size: int, k_g: int, k_d: int
) -> int:
    """Model FLOPs of one adversarial step of Algorithm 1 (per-image forward FLOPs given).

    refiner update (x k_g):        R forward + backward (3 F_R) and D forward + input
                                   gradient (2 F_D), on b synthetic images;
    discriminator update (x k_d):  R forward without gradient (F_R) on b synthetic images,
                                   D forward + backward (3 F_D) on b real + b refined images.
    """
    b = batch_size
    per_refiner_update = b * (3 * refiner_flops + 2 * discriminator_flops)
    per_discriminator_update = b * refiner_flops + 2 * b * 3 * discriminator_flops
    return k_g * per_refiner_update + k_d * per_discriminator_update
