"""Typed training configuration: frozen dataclasses, YAML presets, dotted overrides.

One source of truth. Unknown keys are errors (a typo never silently does nothing), the
resolved config is saved in every run folder and checkpoint, and `--set a.b=value` edits a
preset from the command line:

    cfg = load_config("eyes", overrides=["train.k_g=5", "loss.lambda_reg=0.1"])
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from simgan.augment import Augment, parse_policy
from simgan.errors import SimganError
from simgan.losses import PSI, REG_DISTANCES
from simgan.models.refiner import NORMS

PRESET_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class ModelConfig:
    refiner: str = "eyes"  # preset name in simgan.models.presets
    discriminator: str = "eyes"
    # options on top of the presets; every default is the paper's network
    refiner_norm: str = "none"  # none | batch | instance: normalization inside R
    residual: bool = False  # R(x) = tanh(atanh(x) + f(x)): a correction of the input
    zero_init_last: bool = False  # R's last conv starts at 0: with residual, R starts at x
    noise_channels: int = 0  # K channels of N(0, 1) noise appended to R's input (PixelDA)
    spectral_norm: bool = False  # spectral normalization on every conv of D

    def refiner_options(self) -> dict[str, Any]:
        """Keyword arguments of simgan.models.build_refiner for these choices."""
        return {
            "norm": self.refiner_norm,
            "residual": self.residual,
            "zero_init_last": self.zero_init_last,
            "noise_channels": self.noise_channels,
        }


@dataclass(frozen=True)
class LossConfig:
    # Weight of the self-regularization term. Our L1 is a per-pixel MEAN and the adversarial
    # loss a per-patch MEAN, so this is not the paper's raw number (see README, "lambda").
    lambda_reg: float = 0.5
    # identity | mean | downsample | lcn | gradients | features (simgan.psi)
    psi: str = "identity"
    psi_sigma: float = 2.0  # lcn: std of the Gaussian window, pixels
    psi_eps: float = 0.1  # lcn: added to the local std ([-1, 1] units), so flat areas stay calm
    psi_normalize: bool = False  # gradients: divide by each image's mean gradient magnitude
    psi_features_seed: int = 0  # features: seed of the frozen random conv network
    reg_distance: str = "l1"  # l1 (the paper) | si_mse (scale-invariant MSE, PixelDA)
    # label consistency: lambda_label * error of a frozen estimator on R(x) vs x's label
    lambda_label: float = 0.0
    label_model: str = ""  # path of a gaze estimator file (save_gaze_estimator); "" = off
    # stabilizers of D
    real_label_smoothing: float = 0.0  # one-sided: D's target for real is REAL 1-s, REFINED s
    r1_gamma: float = 0.0  # R1 penalty gamma/2 E|grad_x D(x)|^2 on real images; 0 = off
    r1_every: int = 1  # lazy R1: on steps divisible by this, weighted by it (1 = every step)


@dataclass(frozen=True)
class AugmentConfig:
    """Differentiable augmentation of D's inputs (simgan.augment), real and refined alike."""

    policy: str = ""  # comma list of brightness, contrast, translation, cutout; "" = off
    translation_px: int = 2  # largest shift, pixels
    cutout: float = 0.25  # cutout rectangle side as a fraction of the image side
    brightness: float = 0.2  # largest offset, [-1, 1] units
    contrast: float = 0.2  # largest relative change of the deviation from the image mean

    def build(self) -> Augment:
        return Augment(
            policy=parse_policy(self.policy),
            translation_px=self.translation_px,
            cutout=self.cutout,
            brightness=self.brightness,
            contrast=self.contrast,
        )


@dataclass(frozen=True)
class SelectConfig:
    """Checkpoint selection (simgan.training.selection): during the adversarial phase the
    trainer scores realism against `held_out` images of the REAL TRAINING file, set aside
    so D never sees them, and keeps the best-scoring refiner as checkpoints/best.pt, which
    `simgan refine`, `eval` and `export` then use. Never point this at an evaluation set."""

    every: int = 0  # adversarial steps between scores; 0 = off (last.pt is the refiner)
    held_out: int = 300  # real training images set aside for the scores
    count: int = 300  # synthetic images (the file's first) refined for each score
    metric: str = "kid"  # kid (random-CNN features, no training) | c2st (a classifier per score)


SELECT_METRICS = ("kid", "c2st")


@dataclass(frozen=True)
class OptimConfig:
    name: str = "sgd"  # sgd (the paper) | adam
    lr_refiner: float = 0.001
    lr_discriminator: float = 0.001
    momentum: float = 0.0  # sgd only
    beta1: float = 0.5  # adam only
    beta2: float = 0.999
    weight_decay: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 512
    pretrain_refiner_steps: int = 1000  # self-regularization only
    pretrain_discriminator_steps: int = 200
    steps: int = 10000  # alternating steps, each K_g refiner + K_d discriminator updates
    k_g: int = 2
    k_d: int = 1
    history_capacity: int = 25600  # B; the paper does not give it
    resize: bool = False  # resize synthetic images to the real images' size if they differ


@dataclass(frozen=True)
class LogConfig:
    log_every: int = 50  # steps between metrics.jsonl rows
    sample_every: int = 500  # steps between sample grids (fixed synthetic batch)
    checkpoint_every: int = 2000  # steps between kept checkpoints (last.pt is always kept)
    sample_count: int = 16
    progress: bool = True
    tensorboard: bool = False  # also write TensorBoard events into RUN/tensorboard/ (extra)


@dataclass(frozen=True)
class PerfConfig:
    """How fast, not what: none of these change what is learned beyond rounding, so they may
    change when resuming (see docs/scaling.md)."""

    amp: str = "auto"  # auto | bf16 | none: bf16 autocast; auto = CUDA, or a CPU with bf16 units
    channels_last: bool = True  # NHWC activations (faster convolutions with oneDNN / cuDNN)
    compile: bool = False  # torch.compile both networks (slow first steps, then faster)
    data_on_device: bool = True  # keep the uint8 image banks on the GPU when they fit
    pin_memory: bool = True  # page-locked host batches for asynchronous copies to the GPU
    # CPU threads for PyTorch: 0 = auto (the free cores, 1 where a step gains nothing from
    # more; simgan.threads), N = N, -1 = PyTorch's own default (one per core)
    threads: int = 0


@dataclass(frozen=True)
class Config:
    name: str = "eyes"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    perf: PerfConfig = field(default_factory=PerfConfig)

    @property
    def total_steps(self) -> int:
        t = self.train
        return t.pretrain_refiner_steps + t.pretrain_discriminator_steps + t.steps

    def phase_at(self, step: int) -> str:
        """The schedule's phase for a global step (0-based): derived, never stored apart."""
        t = self.train
        if step < t.pretrain_refiner_steps:
            return "pretrain_refiner"
        if step < t.pretrain_refiner_steps + t.pretrain_discriminator_steps:
            return "pretrain_discriminator"
        return "adversarial" if step < self.total_steps else "done"


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, data: dict[str, Any], where: str = "config", prefix: str = "") -> Any:
    """Build dataclass `cls` from a nested dict; unknown keys and wrong types are errors.

    `where` names the source (a file) in messages; `prefix` is the dotted section path.
    """
    if not isinstance(data, dict):
        raise SimganError(f"{where}: {prefix or 'config'} must be a mapping, got {data!r}")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SimganError(
            f"{where}: unknown key(s) {', '.join(prefix + u for u in unknown)}; valid keys "
            f"there: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for name, value in data.items():
        typ = hints[name]
        if dataclasses.is_dataclass(typ):
            kwargs[name] = from_dict(typ, value, where, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, typ, f"{where}: {prefix}{name}")
    return cls(**kwargs)


def _coerce(value: Any, typ: type, key: str) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif typ is str:
        if isinstance(value, str):
            return value
    raise SimganError(f"{key}: expected {typ.__name__}, got {value!r}")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise SimganError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise SimganError(f"{path}: expected a mapping of config keys at the top level")
    return data


def set_dotted(data: dict[str, Any], dotted: str) -> None:
    """Apply one `--set section.key=value` override to a config dict, in place."""
    if "=" not in dotted:
        raise SimganError(f"--set {dotted}: expected key=value, e.g. train.k_g=5")
    key, raw = dotted.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise SimganError(f"--set {dotted}: '{p}' is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError:
        node[parts[-1]] = raw


def load_config(
    preset_or_path: str | os.PathLike = "eyes", overrides: list[str] | tuple[str, ...] = ()
) -> Config:
    """A preset name (eyes, hands, digits, tiny) or a YAML file, plus `key=value` overrides."""
    text = str(preset_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SimganError(f"{path}: config file not found")
    else:
        path = PRESET_DIR / f"{text}.yaml"
        if not path.is_file():
            raise SimganError(
                f"unknown config preset '{text}'; presets: {', '.join(preset_names())} "
                "(or give a path to a .yaml file)"
            )
    return apply_overrides(_read_yaml(path), overrides, str(path))


def apply_overrides(
    data: dict[str, Any], overrides: list[str] | tuple[str, ...] = (), where: str = "config"
) -> Config:
    """A validated Config from a config dict (left unchanged) with `key=value` overrides on
    top; `where` names the source in error messages."""
    data = copy.deepcopy(data)
    for o in overrides:
        set_dotted(data, o)
    cfg = from_dict(Config, data, where=where + (" with --set overrides" if overrides else ""))
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    """Value checks that types cannot express."""
    t = cfg.train
    checks = [
        (t.batch_size >= 2, "train.batch_size must be at least 2"),
        (t.k_g >= 1 and t.k_d >= 1, "train.k_g and train.k_d must be at least 1"),
        (
            min(t.steps, t.pretrain_refiner_steps, t.pretrain_discriminator_steps) >= 0,
            "step counts must not be negative",
        ),
        (t.history_capacity >= t.batch_size // 2, "train.history_capacity must be >= batch_size/2"),
        (cfg.loss.lambda_reg >= 0, "loss.lambda_reg must not be negative"),
        (
            cfg.loss.psi in PSI,
            f"loss.psi '{cfg.loss.psi}' must be {', '.join(PSI[:-1])} or {PSI[-1]}",
        ),
        (
            cfg.loss.reg_distance in REG_DISTANCES,
            f"loss.reg_distance '{cfg.loss.reg_distance}' must be l1 or si_mse",
        ),
        (cfg.loss.psi_sigma > 0 and cfg.loss.psi_eps >= 0, "loss.psi_sigma > 0, psi_eps >= 0"),
        (
            cfg.loss.lambda_label >= 0 and (cfg.loss.lambda_label == 0 or cfg.loss.label_model),
            "loss.lambda_label must be >= 0, and > 0 only with a loss.label_model file",
        ),
        (
            0 <= cfg.loss.real_label_smoothing < 0.5,
            "loss.real_label_smoothing must be in [0, 0.5)",
        ),
        (
            cfg.loss.r1_gamma >= 0 and cfg.loss.r1_every >= 1,
            "loss.r1_gamma must be >= 0 and loss.r1_every >= 1",
        ),
        (
            not (cfg.loss.r1_gamma > 0 and cfg.perf.compile),
            "loss.r1_gamma needs perf.compile: false (torch.compile has no double backward)",
        ),
        (
            cfg.model.refiner_norm in NORMS,
            f"model.refiner_norm '{cfg.model.refiner_norm}' must be one of {', '.join(NORMS)}",
        ),
        (
            cfg.model.residual or not cfg.model.zero_init_last,
            "model.zero_init_last needs model.residual: true (without the skip a zero last "
            "layer outputs 0, not the input)",
        ),
        (cfg.model.noise_channels >= 0, "model.noise_channels must be >= 0"),
        (
            cfg.augment.translation_px >= 0
            and 0 <= cfg.augment.cutout <= 1
            and cfg.augment.brightness >= 0
            and 0 <= cfg.augment.contrast < 1,
            "augment: translation_px >= 0, cutout in [0, 1], brightness >= 0, contrast in [0, 1)",
        ),
        (
            cfg.select.every >= 0 and cfg.select.held_out >= 2 and cfg.select.count >= 2,
            "select.every must be >= 0 (0 = off), select.held_out and select.count >= 2",
        ),
        (
            cfg.select.metric in SELECT_METRICS,
            f"select.metric '{cfg.select.metric}' must be kid or c2st",
        ),
        (cfg.optim.name in ("sgd", "adam"), f"optim.name '{cfg.optim.name}' must be sgd or adam"),
        (cfg.optim.lr_refiner > 0 and cfg.optim.lr_discriminator > 0, "learning rates must be > 0"),
        (
            min(cfg.log.log_every, cfg.log.sample_every, cfg.log.checkpoint_every) >= 1,
            "log intervals must be at least 1",
        ),
        (
            cfg.perf.threads >= -1,
            "perf.threads must be 0 (auto), a thread count, or -1 (PyTorch's default)",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise SimganError(f"config {cfg.name}: {message}")
    try:
        parse_policy(cfg.augment.policy)
    except ValueError as e:
        raise SimganError(f"config {cfg.name}: augment.policy: {e}") from None


def dump_yaml(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def diff_from_defaults(cfg: Config) -> list[str]:
    """'key: value (default d)' lines for every value that differs from the dataclass default."""
    out: list[str] = []

    def walk(obj: Any, ref: Any, prefix: str) -> None:
        for f in fields(obj):
            a, b = getattr(obj, f.name), getattr(ref, f.name)
            if dataclasses.is_dataclass(a):
                walk(a, b, f"{prefix}{f.name}.")
            elif a != b:
                out.append(f"{prefix}{f.name}: {a!r} (default {b!r})")

    walk(cfg, Config(), "")
    return out
