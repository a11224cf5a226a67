"""Training: the SimGAN loop and everything it evolves, saves and resumes.

loop.py         train(): pretrain R, pretrain D, then alternate K_g / K_d (Algorithm 1)
updates.py      one update of the refiner, of the discriminator, one adversarial step
state.py        TrainState (networks, optimizers, history buffer, generators), build_state
monitor.py      stop signals, metrics, the NaN guard, log rows and progress
resume.py       what a checkpoint holds of a run and how a run resumes exactly
checkpoint.py   checkpoint files: atomic writes, safe loads; which one a run's refiner is
selection.py    checkpoint selection: realism on held-out real training images, best.pt
run_dir.py      numbered run folders, log.txt and metrics.jsonl
batches.py      training images in memory (ImageBank) and the batches drawn from them
distributed.py  several processes under torchrun (DDP), sharded data, per-rank state
"""

from simgan.training.batches import ImageBank
from simgan.training.checkpoint import (
    best_checkpoint,
    find_checkpoint,
    load_checkpoint,
    refiner_checkpoint,
    save_checkpoint,
)
from simgan.training.loop import load_banks, train
from simgan.training.resume import RESUMABLE_CHANGES, load_run_config
from simgan.training.run_dir import RunLog, new_run_dir, read_metrics
from simgan.training.state import TrainState, build_state, make_optimizer
from simgan.training.updates import adversarial_step, discriminator_update, refiner_update

__all__ = [
    "RESUMABLE_CHANGES",
    "ImageBank",
    "RunLog",
    "TrainState",
    "adversarial_step",
    "best_checkpoint",
    "build_state",
    "discriminator_update",
    "find_checkpoint",
    "load_banks",
    "load_checkpoint",
    "load_run_config",
    "make_optimizer",
    "new_run_dir",
    "read_metrics",
    "refiner_checkpoint",
    "refiner_update",
    "save_checkpoint",
    "train",
]
