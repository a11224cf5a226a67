# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # SimGAN, step by step
#
# Shrivastava et al., *Learning from Simulated and Unsupervised Images through Adversarial
# Training* (CVPR 2017), on data that ships with simgan: synthetic digits drawn from fonts,
# with exact labels, and scikit-learn's real handwritten digits, whose labels the method
# never uses. A **refiner** R learns to make the synthetic digits look real while keeping
# them the digit they were drawn as; a classifier trained on the refined digits is then
# tested on real ones.
#
# Everything here is simgan's public Python API; each step is also a command
# (`simgan demo` runs the whole of it). `QUICK = True` runs in a few minutes on a laptop
# CPU (the tests run it); `QUICK = False` is the demo's size.

# %%
QUICK = True

SYNTHETIC_COUNT = 1000 if QUICK else 20000
PRETRAIN_REFINER_STEPS = 50 if QUICK else 200
PRETRAIN_DISCRIMINATOR_STEPS = 25 if QUICK else 50
ADVERSARIAL_STEPS = 200 if QUICK else 1500
SEED = 0

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import simgan
from simgan.training import ImageBank, read_metrics
from simgan.viz import make_grid

torch.manual_seed(SEED)
work = Path(tempfile.mkdtemp(prefix="simgan-walkthrough-"))


def show(images, title, ncol=16):
    """A row of uint8 (N, H, W, 1) images as one picture."""
    plt.figure(figsize=(ncol * 0.6, 0.8 * max(1, len(images) // ncol)))
    plt.imshow(make_grid(images, ncol=ncol)[..., 0], cmap="gray", vmin=0, vmax=255)
    plt.title(title)
    plt.axis("off")
    plt.show()


# %% [markdown]
# ## 1. Synthetic images with labels, real images without
#
# The simulator gives every image its label for free. The real set is split in two: the
# refiner sees one half **without labels**; the other half is only ever used to test the
# final classifiers.

# %%
synthetic, labels = simgan.render_digits(SYNTHETIC_COUNT, seed=SEED)
real, real_labels = simgan.load_real_digits()
order = np.random.default_rng(SEED).permutation(len(real))
unlabeled, test = order[: len(real) // 2], order[len(real) // 2 :]

simgan.write_dataset(work / "synthetic.h5", synthetic, {"label": labels})
simgan.write_dataset(work / "real.h5", real[unlabeled])  # no labels: S+U learning
print(f"synthetic {synthetic.shape}, real unlabeled {len(unlabeled)}, real test {len(test)}")
show(synthetic[:32], "synthetic (labels known)")
show(real[unlabeled][:32], "real (labels unused)")

# %% [markdown]
# ## 2. The two networks
#
# The **refiner** is fully convolutional (a ResNet of 3x3 convolutions): the output has
# the input's size, and every pixel of R(x) depends only on a neighbourhood of x, which
# helps it keep the image's content. The **discriminator** is *local*: it outputs two
# logits (real, refined) for every patch of its receptive field, not one per image, so the
# refiner cannot fool it with a single global change and each patch is a training sample.

# %%
refiner = simgan.build_refiner("tiny", channels=1)
discriminator = simgan.build_discriminator("tiny", channels=1)
x = torch.from_numpy(synthetic[:4]).permute(0, 3, 1, 2).float() / 127.5 - 1
print("refiner", tuple(refiner(x).shape), f"{sum(p.numel() for p in refiner.parameters()):,} weights")
print("discriminator: logits per patch", tuple(discriminator(x).shape))

# %% [markdown]
# ## 3. The losses
#
# The refiner minimizes the **local adversarial loss** (every patch of R(x) should be
# classified real) plus lambda times the **self-regularization** |psi(R(x)) - psi(x)|_1,
# which keeps the refined image close to its synthetic input, and with it the label. The
# discriminator minimizes the cross-entropy of real patches against refined ones. simgan's
# losses are plain functions of tensors:

# %%
refined = refiner(x)
total, adversarial, regularization = simgan.refiner_loss(
    discriminator(refined), refined, x, lambda_reg=0.5
)
real_x = torch.from_numpy(real[:4]).permute(0, 3, 1, 2).float() / 127.5 - 1
d_loss = simgan.discriminator_loss(discriminator(real_x), discriminator(refined.detach()))
print(f"refiner: adversarial {adversarial:.3f} + self-regularization {regularization:.3f}")
print(f"discriminator: {d_loss:.3f}")

# %% [markdown]
# ## 4. Batches, and the history of refined images
#
# Training images stay uint8 in memory and each batch is drawn at random and scaled to
# [-1, 1]. The discriminator sees half of its refined images from the current refiner and
# half from a **history buffer** of earlier refined images, so it keeps rejecting
# artifacts the refiner made before and the two networks do not chase each other in
# circles.

# %%
bank = ImageBank.from_file(work / "synthetic.h5")
batch = bank.sample(8, torch.Generator().manual_seed(SEED))
history = simgan.HistoryBuffer(capacity=16, seed=SEED)
for _ in range(3):
    shown = history.mix(refiner(bank.sample(8, torch.Generator())).detach())
print(f"batch {tuple(batch.shape)} in [{batch.min():.0f}, {batch.max():.0f}]")
print(f"history holds {len(history)} images; of the last 8 D saw, {history.last_history_rows} came from it")

# %% [markdown]
# ## 5. Pretraining
#
# The paper pretrains R on self-regularization alone (so it starts close to the identity)
# and then D against that R, before the adversarial game starts. A run with no
# adversarial steps is exactly that; its refined digits look like the synthetic ones.

# %%
overrides = [
    f"seed={SEED}",
    f"train.pretrain_refiner_steps={PRETRAIN_REFINER_STEPS}",
    f"train.pretrain_discriminator_steps={PRETRAIN_DISCRIMINATOR_STEPS}",
    "log.progress=false",
    "log.sample_every=50",
]
pretrain = simgan.load_config("digits", [*overrides, "train.steps=0"])
run = simgan.train(pretrain, work / "synthetic.h5", work / "real.h5", work / "runs", echo=False)
pretrained, _, _ = simgan.load_refiner(run)
show(simgan.refine_array(pretrained, synthetic[:32]), "refined after pretraining")

# %% [markdown]
# ## 6. The adversarial game
#
# Algorithm 1 of the paper: K_g refiner updates with D fixed, then K_d discriminator
# updates with R fixed, repeated. Resuming the same run with more steps continues
# exactly where pretraining stopped. The trainer saves a grid of a fixed synthetic batch
# (synthetic | refined | difference) as it goes; here are the first and the last.

# %%
full = simgan.load_config("digits", [*overrides, f"train.steps={ADVERSARIAL_STEPS}"])
run = simgan.train(
    full, work / "synthetic.h5", work / "real.h5", work / "runs", resume=run, echo=False
)
grids = sorted((run / "samples").glob("step_*.png"))
for path in (grids[0], grids[-1]):
    plt.figure(figsize=(10, 3))
    plt.imshow(Image.open(path), cmap="gray")
    plt.title(f"{path.stem}: synthetic | refined | difference")
    plt.axis("off")
    plt.show()

# %% [markdown]
# The losses and the discriminator's accuracy, per patch, on real and on refined images.
# D near 50% on both means the refined patches have become hard to tell from real ones.

# %%
rows = [r for r in read_metrics(run) if r["phase"] == "adversarial" and "d_acc_real" in r]
steps = [r["step"] for r in rows]
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3))
for key in ("refiner_adv", "refiner_reg", "d_loss"):
    left.plot(steps, [r[key] for r in rows], label=key)
for key in ("d_acc_real", "d_acc_refined"):
    right.plot(steps, [r[key] for r in rows], label=key)
left.set_xlabel("step")
right.set_xlabel("step")
left.legend()
right.legend()
plt.show()

# %% [markdown]
# ## 7. Does refinement help? Train on refined, test on real
#
# The same classifier trained on raw synthetic, on refined synthetic (the same labels:
# refinement never touches them) and, for the ceiling, on the real half's own labels, then
# tested on the real test half that nothing was trained on.

# %%
refiner, _, _ = simgan.load_refiner(run)
refined_all = simgan.refine_array(refiner, synthetic)


def accuracy(images, y):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
    clf.fit(images.reshape(len(images), -1) / 255.0, y)
    x_test = real[test].reshape(len(test), -1) / 255.0
    return float((clf.predict(x_test) == real_labels[test]).mean())


scores = {
    "raw synthetic": accuracy(synthetic, labels),
    "refined synthetic": accuracy(refined_all, labels),
    "real (ceiling)": accuracy(real[unlabeled], real_labels[unlabeled]),
}
for name, value in scores.items():
    print(f"{name:18s} {value:.3f}")
plt.figure(figsize=(6, 2.5))
plt.barh(list(scores), list(scores.values()))
plt.xlim(0, 1)
plt.xlabel("accuracy on real test digits")
plt.show()
show(synthetic[:16], "synthetic")
show(refined_all[:16], "refined")
