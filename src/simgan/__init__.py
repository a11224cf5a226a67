"""simgan: Simulated+Unsupervised learning (Shrivastava et al., CVPR 2017) in PyTorch.

Data flows one way: source files -> canonical dataset file (simgan.data) -> refiner ->
refined dataset with the same labels -> downstream model -> metrics. The names below are
the public API (README.md, "Python"); each stage's package has the rest:

    data        the dataset file, the eye and digit simulators, importers
    models      refiner R, local discriminator D, the paper's gaze estimator
    losses      local adversarial loss, self-regularization (pure functions)
    history     the paper's history buffer of refined images
    training    the SimGAN loop, checkpoints, run folders, resume, torchrun
    refine      load a trained refiner (run, checkpoint, TorchScript, ONNX), refine datasets
    export      write ONNX / TorchScript
    evaluate    gaze estimator (train on refined, test on real), realism scores, preservation
    experiments the demos and quality benchmarks on built-in data; speed: speed benchmarks
"""

__version__ = "0.1.0"  # first: the modules below read it while the package loads

from simgan.config import Config, load_config  # noqa: E402
from simgan.data import Dataset, read_dataset, write_dataset  # noqa: E402
from simgan.data.digits import load_real_digits, render_digits  # noqa: E402
from simgan.data.eyes import render_eyes, write_synthetic_eyes  # noqa: E402
from simgan.evaluate import (  # noqa: E402
    c2st,
    evaluate_gaze,
    kid,
    preservation,
    train_gaze_estimator,
)
from simgan.export import export_refiner  # noqa: E402
from simgan.history import HistoryBuffer  # noqa: E402
from simgan.losses import (  # noqa: E402
    discriminator_loss,
    local_adversarial_loss,
    refiner_loss,
    self_regularization_loss,
)
from simgan.models import build_discriminator, build_refiner  # noqa: E402
from simgan.refine import load_any_refiner, load_refiner, refine_array, refine_file  # noqa: E402
from simgan.training import train  # noqa: E402

__all__ = [
    "Config",
    "Dataset",
    "HistoryBuffer",
    "__version__",
    "build_discriminator",
    "build_refiner",
    "c2st",
    "discriminator_loss",
    "evaluate_gaze",
    "export_refiner",
    "kid",
    "load_any_refiner",
    "load_config",
    "load_real_digits",
    "load_refiner",
    "local_adversarial_loss",
    "preservation",
    "read_dataset",
    "refine_array",
    "refine_file",
    "refiner_loss",
    "render_digits",
    "render_eyes",
    "self_regularization_loss",
    "train",
    "train_gaze_estimator",
    "write_dataset",
    "write_synthetic_eyes",
]
