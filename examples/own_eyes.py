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
# # Your own eye images: from real photos to refined, labelled synthetic eyes
#
# Put the path of **your real, unlabeled eye images** in `REAL` below. simgan reads:
# - a folder of eye crops (PNG or JPEG, any size: they are fitted to `SIZE`), searched
#   recursively;
# - a NumPy `.npz` file with an `images` array (N, H, W) or (N, H, W, C), uint8;
# - a dataset file made by `simgan import ...` or `simgan collect ...` (`.h5`).
#
# Photos or videos of whole faces? First find the eyes in them with
# `simgan collect my_photos/ my_video.mp4 -o real.h5`, then give `real.h5` here.
#
# Left empty, `REAL` falls back to the MPIIGaze sample beside the project
# (`../shared/data/real`), where that exists. `QUICK = True` trains for a minute or two
# (a look at the workflow, not a result); `False` uses the CPU budget of simgan's own
# benchmarks (about half an hour on two cores).

# %%
REAL = ""
QUICK = True
SIZE = (36, 60)  # height, width: MPIIGaze's normalized eye patches
SEED = 0

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import simgan
from simgan.data.importers.folder import import_folder
from simgan.data.importers.npz import import_npz
from simgan.experiments.budgets import EYES_CPU_BUDGET
from simgan.viz import make_grid

work = Path(tempfile.mkdtemp(prefix="simgan-eyes-"))
SHARED = Path("..").resolve().parent / "shared" / "data" / "real" / "mpiigaze_p00_36x60"
if not REAL:
    sample = SHARED / "test_images_36x60_uint8.npz"
    if not sample.is_file():
        raise SystemExit(f"set REAL to your eye images (no sample found at {sample})")
    REAL = str(sample)
REAL = Path(REAL).expanduser()
if not REAL.exists():
    raise SystemExit(f"{REAL}: not found; set REAL to a folder, .npz or .h5 of eye images")


def show(images, title, ncol=8):
    plt.figure(figsize=(ncol * 1.0, 0.7 * max(1, len(images) // ncol)))
    plt.imshow(make_grid(images, ncol=ncol)[..., 0], cmap="gray", vmin=0, vmax=255)
    plt.title(title)
    plt.axis("off")
    plt.show()


# %% [markdown]
# ## 1. The real images, in simgan's dataset file
#
# One file format for every step: HDF5 with `images` uint8 (N, H, W, C) and optional
# labels. Real images need no labels.

# %%
real_h5 = work / "real.h5"
options = {"size": SIZE, "fit_mode": "stretch", "domain": "real"}
if REAL.suffix == ".h5":
    real_h5 = REAL
elif REAL.suffix == ".npz":
    import_npz(REAL, real_h5, **options)
else:
    import_folder(REAL, real_h5, recursive=True, **options)
real = simgan.read_dataset(real_h5).images
print(f"{len(real)} real images {real.shape[1:]} from {REAL}")
show(real[:16], "real")

# %% [markdown]
# ## 2. Synthetic eyes with exact gaze labels
#
# simgan's simulator renders eyes at your size, each with its gaze vector, landmarks and
# head pose. (`simgan synth eyes --like real.h5` also fits the simulator's ranges to your
# set; it takes a few minutes, so this notebook uses the calibrated defaults.)

# %%
count = 2000 if QUICK else 4000
synthetic_h5 = simgan.write_synthetic_eyes(work / "synthetic.h5", count, seed=SEED, size=SIZE)
synthetic = simgan.read_dataset(synthetic_h5)
print(f"{len(synthetic.images)} synthetic eyes, labels: {sorted(synthetic.labels)}")
show(synthetic.images[:16], "synthetic")

# %% [markdown]
# ## 3. Train the refiner on your real images
#
# Pretraining, then the adversarial game, with checkpoint selection: the trainer sets some
# of YOUR real images aside, scores the refiner against them as it trains and keeps the
# best refiner (`checkpoints/best.pt`).

# %%
budget = list(EYES_CPU_BUDGET)
if QUICK:
    budget += ["train.pretrain_refiner_steps=30", "train.pretrain_discriminator_steps=10"]
    budget += ["train.steps=60", "log.sample_every=30", "select.every=30"]
else:
    budget += ["select.every=250"]
cfg = simgan.load_config("eyes", [f"seed={SEED}", "log.progress=false", *budget])
run = simgan.train(cfg, synthetic_h5, real_h5, work / "runs", echo=False)
print((run / "checkpoints" / "best.json").read_text())

# %% [markdown]
# ## 4. Refine, and compare
#
# The refined file has the synthetic file's labels, byte for byte. A two-sample test says
# how well a fresh classifier tells refined eyes from your real ones (50% = it cannot).

# %%
refiner, _, _ = simgan.load_refiner(run)  # the best checkpoint
refined = simgan.refine_array(refiner, synthetic.images)
show(synthetic.images[:16], "synthetic")
show(refined[:16], "refined")
for name, images in (("raw synthetic", synthetic.images), ("refined", refined)):
    score = simgan.c2st(real, images, seed=SEED)
    print(f"{name}: a classifier tells them from your real eyes {score['c2st_accuracy']:.1%}")
