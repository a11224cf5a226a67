"""The baseline: a plain, straightforward PyTorch port of one SimGAN training step.

Written the obvious way a port would write it, independently of simgan's trainer, so the
benchmark can say how simgan compares with "just writing it down":
- its own refiner and discriminator modules, the same architecture as the eye presets
  (the benchmark checks that the parameter shapes match);
- the training set preloaded as one float32 array in [-1, 1], batches drawn with numpy;
- a refiner update that leaves D's parameters trainable, so backward also computes D's
  weight gradients (thrown away by D's next zero_grad);
- a discriminator update that refines with autograd on and then detaches, runs D on the
  real and the refined batch separately, and keeps the history buffer in a numpy array;
- float32, default memory layout, no compilation, no autocast.
Everything it computes is what the paper's Algorithm 1 asks for; only the how is naive.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class NaiveResnetBlock(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x):
        out = F.relu(self.conv1(x))
        out = self.conv2(out)
        return F.relu(out + x)


class NaiveRefiner(nn.Module):
    """conv3x3 64 -> 4 ResNet blocks -> conv1x1 -> tanh (the eye refiner)."""

    def __init__(self, channels: int = 1, features: int = 64, blocks: int = 4) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(channels, features, 3, padding=1)
        self.blocks = nn.ModuleList([NaiveResnetBlock(features) for _ in range(blocks)])
        self.conv_out = nn.Conv2d(features, channels, 1)

    def forward(self, x):
        x = F.relu(self.conv_in(x))
        for block in self.blocks:
            x = block(x)
        return torch.tanh(self.conv_out(x))


class NaiveDiscriminator(nn.Module):
    """The eye D: conv3x3 s2 96, conv3x3 s2 64, maxpool3x3 s1, conv3x3 32, conv1x1 32,
    conv1x1 2; (N, C, 35, 55) -> (N, 2, 9, 14) logits."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 96, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(96, 64, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.conv3 = nn.Conv2d(64, 32, 3, padding=1)
        self.conv4 = nn.Conv2d(32, 32, 1)
        self.conv5 = nn.Conv2d(32, 2, 1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.pool(x)
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        return self.conv5(x)


def patch_loss(logits: torch.Tensor, label: int) -> torch.Tensor:
    """Cross-entropy of every patch against `label`, the way ports usually spell it."""
    flat = logits.permute(0, 2, 3, 1).reshape(-1, 2)
    target = torch.full((flat.shape[0],), label, dtype=torch.long, device=logits.device)
    return F.cross_entropy(flat, target)


class NaiveHistory:
    """The paper's history buffer in a numpy array: half of each D batch from the past."""

    def __init__(self, capacity: int, seed: int = 0) -> None:
        self.capacity = capacity
        self.images: np.ndarray | None = None
        self.count = 0
        self.rng = np.random.default_rng(seed)

    def mix(self, refined: torch.Tensor) -> torch.Tensor:
        batch = refined.detach().cpu().numpy()
        half = len(batch) // 2
        if self.images is None:
            self.images = np.zeros((self.capacity, *batch.shape[1:]), np.float32)
        out = batch.copy()
        if self.count >= half:
            idx = self.rng.choice(self.count, half, replace=False)
            out[len(batch) - half :] = self.images[idx]
        new = batch[len(batch) - half :]
        if self.count + len(new) <= self.capacity:
            self.images[self.count : self.count + len(new)] = new
            self.count += len(new)
        else:
            self.images[self.rng.choice(self.count, len(new), replace=False)] = new
        return torch.from_numpy(out).to(refined.device)


class NaiveSimGAN:
    """One adversarial step: k_g refiner updates, then k_d discriminator updates."""

    def __init__(
        self,
        synthetic_u8: np.ndarray,
        real_u8: np.ndarray,
        batch_size: int,
        k_g: int = 2,
        k_d: int = 1,
        lambda_reg: float = 0.5,
        lr: float = 2e-4,
        history_capacity: int = 25600,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        """synthetic_u8, real_u8: uint8 (N, H, W, C) images."""
        torch.manual_seed(seed)
        self.device = torch.device(device)
        channels = synthetic_u8.shape[3]
        # the whole set as float32 NCHW in [-1, 1], once
        self.synthetic = synthetic_u8.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
        self.real = real_u8.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
        self.R = NaiveRefiner(channels).to(self.device)
        self.D = NaiveDiscriminator(channels).to(self.device)
        self.opt_R = torch.optim.Adam(self.R.parameters(), lr=lr, betas=(0.5, 0.999))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        self.history = NaiveHistory(history_capacity, seed)
        self.batch_size, self.k_g, self.k_d, self.lambda_reg = batch_size, k_g, k_d, lambda_reg
        self.rng = np.random.default_rng(seed)

    def sample(self, data: np.ndarray) -> torch.Tensor:
        idx = self.rng.choice(len(data), self.batch_size, replace=False)
        return torch.from_numpy(data[idx]).to(self.device)

    def step(self) -> dict[str, float]:
        for _ in range(self.k_g):
            synthetic = self.sample(self.synthetic)
            refined = self.R(synthetic)
            d_out = self.D(refined)
            adv = patch_loss(d_out, 0)  # R wants its images called real (class 0)
            reg = self.lambda_reg * torch.mean(torch.abs(refined - synthetic))
            loss_r = adv + reg
            self.opt_R.zero_grad()
            loss_r.backward()
            self.opt_R.step()
        for _ in range(self.k_d):
            synthetic = self.sample(self.synthetic)
            real = self.sample(self.real)
            refined = self.history.mix(self.R(synthetic).detach())
            loss_d = patch_loss(self.D(real), 0) + patch_loss(self.D(refined), 1)
            self.opt_D.zero_grad()
            loss_d.backward()
            self.opt_D.step()
        return {"refiner_loss": loss_r.item(), "d_loss": loss_d.item()}
