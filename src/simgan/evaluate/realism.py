"""Realism scores: a classifier two-sample test (C2ST) and the kernel inception distance (KID).

C2ST (Lopez-Paz and Oquab, 2017): a fresh small CNN learns to tell real from fake on one
half of a balanced sample and is scored on the other half. 50% accuracy means the two sets
are indistinguishable to it (the paper's humans scored 51.7% on real vs refined eyes); 100%
means trivially different. The interval is Wilson's 95% score interval on the held-out count.

KID (Binkowski et al., 2018): the unbiased estimator of the squared maximum mean discrepancy
between the two sets' features with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets. Features come from `simgan.evaluate.features` (no downloads).

Both sets must have the same (H, W, C). `resize=True` resizes (and converts) the fake set to
the real set's size; note that resampling itself smooths images, a cue the C2ST classifier
can pick up, so prefer real and fake data of the same size (resize the real set once when
importing it) and treat resized scores as an upper bound on distinguishability.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from simgan.errors import SimganError
from simgan.evaluate._common import as_images, match_images, seeded
from simgan.evaluate.features import image_features
from simgan.images import to_network

MIN_IMAGES = 8


class RealismCritic(nn.Module):
    """The C2ST's classifier: (N, C, H, W) in [-1, 1] -> (N,) logits of "real"."""

    def __init__(self, channels: int, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for out, stride in [(width, 1), (2 * width, 2), (4 * width, 2), (4 * width, 2)]:
            layers += [nn.Conv2d(c, out, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True)]
            c = out
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(2 * c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        # mean and max pooling: sees both overall statistics and rare local artifacts
        pooled = torch.cat([h.mean((2, 3)), h.amax((2, 3))], dim=1)
        return self.out(pooled).squeeze(1)


def wilson_interval(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion correct / n (95% by default)."""
    if n <= 0:
        return (0.0, 1.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if correct == 0 else max(0.0, centre - half)
    hi = 1.0 if correct == n else min(1.0, centre + half)
    return (lo, hi)


def _prepare(real: np.ndarray, fake: np.ndarray, resize: bool) -> tuple[np.ndarray, np.ndarray]:
    real = as_images(real, "real images")
    fake = as_images(fake, "fake images")
    for name, x in (("real", real), ("fake", fake)):
        if len(x) < MIN_IMAGES:
            raise SimganError(f"{name} images: {len(x)} given, need at least {MIN_IMAGES}")
    return real, match_images(real, fake, resize, ("real", "fake"))


def c2st(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    max_per_class: int = 5000,
    test_fraction: float = 0.5,
    min_steps: int = 300,
    resize: bool = False,
    device: str = "cpu",
) -> dict[str, Any]:
    """Classifier two-sample test on uint8 images (N, H, W, C) of the same (H, W, C).

    Both sets are subsampled to the same size (the smaller one's, at most max_per_class),
    split per class into train and test, and a fresh RealismCritic is trained for `epochs`,
    raised so that it takes at least `min_steps` optimizer steps (a few hundred images seen
    for one epoch teach it nothing, which would read as "indistinguishable").
    Returns c2st_accuracy on the test split, ci95 [lo, hi], n_test, n_train, c2st_epochs.
    The accuracy measures what this classifier learns in `epochs`: a lower bound on how
    distinguishable the sets are, so compare runs only at the same settings and data sizes.
    """
    real, fake = _prepare(real, fake, resize)
    if not 0 < test_fraction < 1:
        raise SimganError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    n = min(len(real), len(fake), max_per_class)
    k_test = max(1, int(round(n * test_fraction)))
    if n - k_test < 1:
        raise SimganError(f"c2st: {n} images per set is too few to split into train and test")
    pr, pf = rng.permutation(len(real))[:n], rng.permutation(len(fake))[:n]
    x_train = np.concatenate([real[pr[k_test:]], fake[pf[k_test:]]])
    y_train = np.concatenate([np.ones(n - k_test), np.zeros(n - k_test)]).astype(np.float32)
    x_test = np.concatenate([real[pr[:k_test]], fake[pf[:k_test]]])
    y_test = np.concatenate([np.ones(k_test), np.zeros(k_test)]).astype(bool)

    with seeded(seed, device):
        critic = RealismCritic(real.shape[-1]).to(device)
        opt = torch.optim.Adam(critic.parameters(), lr=lr)
        xt = torch.from_numpy(x_train).to(device)  # uint8 (2n', H, W, C)
        yt = torch.from_numpy(y_train).to(device)
        epochs = max(epochs, math.ceil(min_steps / math.ceil(len(xt) / batch_size)))
        for _ in range(epochs):
            critic.train()
            order = torch.from_numpy(rng.permutation(len(xt))).to(device)
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                x = to_network(xt[idx])
                loss = F.binary_cross_entropy_with_logits(critic(x), yt[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        critic.eval()
        with torch.no_grad():
            logits = torch.cat(
                [
                    critic(to_network(x_test[s : s + 512], device)).cpu()
                    for s in range(0, len(x_test), 512)
                ]
            )
    correct = int(((logits.numpy() > 0) == y_test).sum())
    lo, hi = wilson_interval(correct, len(y_test))
    return {
        "c2st_accuracy": correct / len(y_test),
        "ci95": [lo, hi],
        "n_test": int(len(y_test)),
        "n_train": int(len(y_train)),
        "c2st_epochs": int(epochs),
    }


def _poly_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cubic polynomial kernel (a.b / d + 1)^3 between rows of (m, d) and (n, d)."""
    return (a @ b.T / a.shape[1] + 1) ** 3


def _mmd2_from_kernels(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    m, n = len(kxx), len(kyy)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2 * kxy.mean())


def mmd2_unbiased_poly(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between feature sets (m, d), (n, d) with k = (a.b / d + 1)^3."""
    return _mmd2_from_kernels(_poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y))


FULL_KERNEL_MAX = 4000  # up to this many images in all, compute each kernel entry once


def kid_from_features(
    fx: np.ndarray, fy: np.ndarray, *, seed: int = 0, subsets: int = 50, subset_size: int = 1000
) -> dict[str, Any]:
    """KID of two feature sets: mean and standard deviation of MMD^2 over random subsets."""
    m = min(subset_size, len(fx), len(fy))
    if m < 2:
        raise SimganError("KID needs at least 2 images in each set")
    rng = np.random.default_rng(seed)
    draws = [
        (rng.choice(len(fx), m, replace=False), rng.choice(len(fy), m, replace=False))
        for _ in range(subsets)
    ]
    if len(fx) + len(fy) <= FULL_KERNEL_MAX:
        # small sets: the subsets overlap heavily, so index one set of kernel matrices
        kxx, kyy, kxy = _poly_kernel(fx, fx), _poly_kernel(fy, fy), _poly_kernel(fx, fy)
        vals = [
            _mmd2_from_kernels(kxx[np.ix_(i, i)], kyy[np.ix_(j, j)], kxy[np.ix_(i, j)])
            for i, j in draws
        ]
    else:
        vals = [mmd2_unbiased_poly(fx[i], fy[j]) for i, j in draws]
    return {"kid": float(np.mean(vals)), "kid_std": float(np.std(vals)), "kid_subset_size": m}


def kid(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    features: str = "random-cnn",
    seed: int = 0,
    subsets: int = 50,
    subset_size: int = 1000,
    resize: bool = False,
    device: str = "cpu",
    feature_seed: int = 0,
) -> dict[str, Any]:
    """Kernel inception distance between uint8 image sets of the same (H, W, C).

    Returns kid (mean unbiased MMD^2 over `subsets` random subsets of `subset_size`, capped
    by the smaller set), kid_std (its spread over subsets), kid_subset_size and kid_features.
    `seed` draws the subsets; the feature network's weights come from `feature_seed`, kept
    fixed by default so that KID values of different runs are comparable.
    """
    real, fake = _prepare(real, fake, resize)
    fx = image_features(real, features, seed=feature_seed, device=device)
    fy = image_features(fake, features, seed=feature_seed, device=device)
    out = kid_from_features(fx, fy, seed=seed, subsets=subsets, subset_size=subset_size)
    out["kid_features"] = features
    return out


def kid_distance_to(
    real: np.ndarray,
    *,
    limit: int = 1000,
    seed: int = 0,
    features: str = "random-cnn",
    device: str = "cpu",
) -> Callable[[np.ndarray], float]:
    """A function fake -> unbiased MMD^2 (KID, one subset: all of both) between uint8 fake
    images and `limit` of the real ones (drawn with `seed`), the real features computed
    once. For searches that compare many candidate sets against one real set (the eye
    simulator's `--like` fit)."""
    real = as_images(real, "real images")
    pick = np.random.default_rng(seed).permutation(len(real))[:limit]
    fr = image_features(real[pick], features, seed=0, device=device)

    def distance(fake: np.ndarray) -> float:
        fake = match_images(real, as_images(fake, "fake images"), False, ("real", "fake"))
        return mmd2_unbiased_poly(image_features(fake, features, seed=0, device=device), fr)

    return distance
