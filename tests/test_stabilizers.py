"""Issue 14's options, each against a hand computation: D's stabilizers (label smoothing,
R1, spectral norm, DiffAugment), the refiner's residual form and noise input, the
label-consistency term, their config keys, and a short run with all of them on."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from simgan.augment import Augment, cutout_mask, diff_augment, parse_policy, translate
from simgan.config import Config, load_config
from simgan.data import write_dataset
from simgan.errors import SimganError
from simgan.evaluate.gaze_estimation import save_gaze_estimator
from simgan.losses import (
    REAL,
    REFINED,
    discriminator_loss,
    label_consistency_loss,
    local_adversarial_loss,
    r1_penalty,
)
from simgan.models import build_discriminator, build_refiner
from simgan.models.gaze_estimator import GazeEstimator
from simgan.refine.loading import load_refiner
from simgan.training import build_state, train
from simgan.training.checkpoint import load_checkpoint, save_checkpoint

# --- D's losses ---------------------------------------------------------------------------


def test_label_smoothing_by_hand():
    # one confident real patch: logits (l_real, l_refined) = (4, 0)
    real = torch.tensor([4.0, 0.0]).view(1, 2, 1, 1)
    refined = torch.tensor([-1.0, 1.0]).view(1, 2, 1, 1)
    p_real = math.exp(4) / (math.exp(4) + 1)
    ce_refined = -math.log(math.exp(1) / (math.exp(1) + math.exp(-1)))
    hard = -math.log(p_real) + ce_refined
    soft = -(0.9 * math.log(p_real) + 0.1 * math.log(1 - p_real)) + ce_refined
    assert discriminator_loss(real, refined).item() == pytest.approx(hard, rel=1e-6)
    assert discriminator_loss(real, refined, 0.1).item() == pytest.approx(soft, rel=1e-6)
    assert soft > hard  # smoothing punishes over-confidence on real patches
    # smoothing 0 is exactly the old loss
    x, y = torch.randn(3, 2, 4, 5), torch.randn(3, 2, 4, 5)
    old = local_adversarial_loss(x, REAL) + local_adversarial_loss(y, REFINED)
    assert torch.equal(discriminator_loss(x, y, 0.0), old)


def test_r1_of_a_linear_discriminator_is_gamma_half_w_squared():
    c, h, w = 2, 4, 5
    d = torch.nn.Conv2d(c, 2, (h, w))  # one patch per image: logits = W x + b
    with torch.no_grad():
        d.weight[REAL].zero_()
        d.weight[REFINED].copy_(torch.randn(c, h, w))
    wr = d.weight[REFINED].detach()
    real, other = torch.randn(3, c, h, w), torch.randn(2, c, h, w)
    both = torch.cat([real, other]).requires_grad_(True)  # refined rows are ignored
    logits = d(both)[:3]
    gamma = 0.7
    penalty = r1_penalty(logits, both, gamma)
    assert penalty.item() == pytest.approx(gamma / 2 * wr.pow(2).sum().item(), rel=1e-5)
    penalty.backward()  # create_graph: the penalty trains D, d/dW = gamma * W
    assert torch.allclose(d.weight.grad[REFINED], gamma * wr, atol=1e-5)
    assert torch.allclose(d.weight.grad[REAL], -gamma * wr, atol=1e-5)


def test_spectral_norm_keeps_the_top_singular_value_near_one():
    torch.manual_seed(0)
    d = build_discriminator("tiny", 1, spectral_norm=True).train()
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    for _ in range(30):  # one power iteration per training-mode forward
        d(x)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.05)
    plain = build_discriminator("tiny", 1)
    top = torch.linalg.matrix_norm(plain.layers[0].weight.detach().flatten(1), ord=2).item()
    assert abs(top - 1.0) > 0.1  # so the check above could fail
    # the state dict (with the power-iteration vectors) restores the same function
    twin = build_discriminator("tiny", 1, spectral_norm=True).eval()
    twin.load_state_dict(d.state_dict())
    assert torch.equal(twin(x), d.eval()(x))


# --- DiffAugment --------------------------------------------------------------------------


def test_translation_moves_content_by_the_drawn_amount():
    x = torch.arange(2 * 8 * 10, dtype=torch.float32).view(2, 1, 8, 10)
    out = translate(x, torch.tensor([1, -2]), torch.tensor([-3, 0]))
    assert out.shape == x.shape
    assert torch.equal(out[0, :, 1:, :7], x[0, :, :7, 3:])  # down 1, left 3
    assert torch.equal(out[1, :, :6, :], x[1, :, 2:, :])  # up 2
    assert torch.equal(out[0, :, 0, :7], x[0, :, 0, 3:])  # border: edge replicated
    # diff_augment draws its shifts from the generator it is given
    aug = Augment(policy=("translation",), translation_px=2)
    got = diff_augment(x, aug, torch.Generator().manual_seed(5))
    shifts = torch.randint(-2, 3, (2, 2), generator=torch.Generator().manual_seed(5))
    assert torch.equal(got, translate(x, shifts[0], shifts[1]))


def test_augment_keeps_shape_and_passes_gradients():
    x = (torch.rand(4, 3, 9, 12) * 2 - 1).requires_grad_(True)
    aug = Augment(policy=parse_policy("brightness,contrast,translation,cutout"))
    g = torch.Generator().manual_seed(0)
    y = aug(x, g)
    assert y.shape == x.shape and torch.isfinite(y).all()
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    # translation alone: every output pixel comes from one input pixel
    x.grad = None
    diff_augment(x, Augment(policy=("translation",)), g).sum().backward()
    assert torch.allclose(x.grad.sum(dim=(1, 2, 3)), torch.full((4,), 3 * 9 * 12.0))
    assert diff_augment(x, Augment(), g) is x  # no policy: nothing drawn, nothing changed


def test_cutout_mask_and_colour_jitter_ranges():
    m = cutout_mask(50, 8, 8, 0.5, torch.Generator().manual_seed(1))
    holes = (m == 0).sum(dim=(1, 2, 3))
    assert m.shape == (50, 1, 8, 8) and (holes > 0).all() and (holes <= 16).all()
    assert (holes == 16).any()  # a centred rectangle is 4 x 4
    x = torch.zeros(200, 1, 2, 2)
    b = diff_augment(x, Augment(policy=("brightness",), brightness=0.2), torch.Generator())
    assert b.abs().max() <= 0.2 and b.std() > 0.05
    x = torch.tensor([-1.0, 1.0]).view(1, 1, 1, 2).repeat(200, 1, 1, 1)
    c = diff_augment(x, Augment(policy=("contrast",), contrast=0.2), torch.Generator())
    spread = c[:, 0, 0, 1] - c[:, 0, 0, 0]
    assert spread.min() >= 1.6 - 1e-6 and spread.max() <= 2.4 + 1e-6


def test_policy_names_are_checked():
    assert parse_policy(" translation , cutout ") == ("translation", "cutout")
    assert parse_policy("") == ()
    with pytest.raises(ValueError, match="unknown"):
        parse_policy("translation,flip")
    with pytest.raises(SimganError, match="augment.policy"):
        load_config("tiny", ["augment.policy=rotate"])


# --- the refiner --------------------------------------------------------------------------


def test_zero_init_residual_refiner_starts_at_the_identity():
    x = torch.rand(3, 1, 8, 8) * 2 - 1
    x[0, 0, 0, :2] = torch.tensor([-1.0, 1.0])  # the ends of the range too
    r = build_refiner("tiny", 1, residual=True, zero_init_last=True)
    assert torch.allclose(r(x), x, atol=2e-6)
    assert (r.head.weight == 0).all() and (r.head.bias == 0).all()
    # and it still learns: the last layer gets a gradient
    r(x).sum().backward()
    assert r.head.weight.grad.abs().sum() > 0
    assert not torch.allclose(build_refiner("tiny", 1, residual=True)(x), x, atol=1e-3)


def test_refiner_noise_channels_and_instance_norm():
    r = build_refiner("tiny", 1, noise_channels=2, norm="instance")
    assert r.stem[0].in_channels == 3
    x = torch.rand(2, 1, 8, 8) * 2 - 1
    torch.manual_seed(1)
    a = r(x)
    b = r(x)
    torch.manual_seed(1)
    assert torch.equal(r(x), a)  # the noise comes from the global RNG
    assert a.shape == x.shape and not torch.equal(a, b)
    a.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in r.parameters())


# --- the label-consistency term -----------------------------------------------------------


def test_label_consistency_by_hand():
    t = F.normalize(torch.randn(4, 3), dim=1)
    assert label_consistency_loss(2.5 * t, t).item() == pytest.approx(0.0, abs=1e-6)
    ortho = torch.stack([t[:, 1], -t[:, 0], torch.zeros(4)], dim=1)  # t . ortho = 0
    ortho = torch.where(ortho.norm(dim=1, keepdim=True) > 1e-3, ortho, torch.ones_like(ortho))
    cos = (F.normalize(ortho, dim=1) * t).sum(1)
    expect = (2 - 2 * cos).mean().item()
    assert label_consistency_loss(ortho, t).item() == pytest.approx(expect, abs=1e-5)
    assert label_consistency_loss(-t, t).item() == pytest.approx(4.0, abs=1e-5)
    logits, ids = torch.randn(5, 10), torch.arange(5)
    assert torch.equal(label_consistency_loss(logits, ids), F.cross_entropy(logits, ids))
    p = t.clone().requires_grad_(True)
    label_consistency_loss(p + 0.3, t).backward()  # gradient pulls p towards t
    assert p.grad.abs().sum() > 0


# --- config -------------------------------------------------------------------------------


def test_defaults_change_nothing():
    """Default options build the very networks the presets did before these options."""
    cfg = load_config("tiny")
    assert cfg.augment == Config().augment and not cfg.augment.build().enabled
    state = build_state(cfg, 1, torch.device("cpu"))
    torch.manual_seed(cfg.seed)
    r, d = build_refiner("tiny", 1), build_discriminator("tiny", 1)
    for mine, old in ((state.refiner, r), (state.discriminator, d)):
        a, b = mine.state_dict(), old.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert state.label_model is None
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(state.psi(x), x)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.zero_init_last=true", "needs model.residual"),
        ("loss.lambda_label=1", "label_model"),
        ("loss.real_label_smoothing=0.5", "real_label_smoothing"),
        ("loss.r1_every=0", "r1_every"),
        ("loss.reg_distance=l2", "reg_distance"),
        ("loss.psi=edges", "loss.psi"),
        ("model.refiner_norm=group", "refiner_norm"),
        ("augment.cutout=2", "augment"),
        ("loss.r1_gamma=1", "perf.compile"),
    ],
)
def test_bad_option_values_are_errors(override, message):
    extra = ["perf.compile=true"] if "r1_gamma" in override else []
    with pytest.raises(SimganError, match=message):
        load_config("tiny", [override, *extra])


# --- training with everything on ----------------------------------------------------------

ALL_ON = [
    "model.residual=true",
    "model.zero_init_last=true",
    "model.refiner_norm=instance",
    "model.noise_channels=1",
    "model.spectral_norm=true",
    "loss.psi=lcn",
    "loss.reg_distance=si_mse",
    "loss.real_label_smoothing=0.1",
    "loss.r1_gamma=1.0",
    "loss.r1_every=2",
    "augment.policy=brightness,contrast,translation,cutout",
    "augment.translation_px=1",
    "log.checkpoint_every=100",
]


def _rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_all_options_train_finite_and_resume_exactly(domains, tmp_path):
    s, r = domains
    cfg = load_config("tiny", [*ALL_ON, "train.steps=4"])
    straight = train(cfg, s, r, tmp_path / "a", echo=False)
    rows = _rows(straight)
    assert len(rows) == cfg.total_steps
    numbers = [v for row in rows for k, v in row.items() if k.startswith(("refiner_", "d_"))]
    assert numbers and all(math.isfinite(v) for v in numbers)
    assert any("d_r1" in row for row in rows)
    short = load_config("tiny", [*ALL_ON, "train.steps=1"])
    part = train(short, s, r, tmp_path / "b", echo=False)
    resumed = train(cfg, s, r, tmp_path / "b", resume=part, echo=False)
    a = load_checkpoint(straight / "checkpoints" / "last.pt")
    b = load_checkpoint(resumed / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == cfg.total_steps
    for net in ("refiner", "discriminator"):
        assert a[net].keys() == b[net].keys()
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    assert any("parametrizations" in k for k in a["discriminator"])
    assert torch.equal(a["history"]["images"], b["history"]["images"])


@pytest.mark.parametrize("psi", ["gradients", "features"])
def test_other_psi_train(domains, tmp_path, psi):
    s, r = domains
    cfg = load_config("tiny", [f"loss.psi={psi}", "loss.psi_normalize=true", "train.steps=1"])
    run = train(cfg, s, r, tmp_path, echo=False)
    losses = [row["refiner_loss"] for row in _rows(run) if "refiner_loss" in row]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)


def test_label_consistency_trains_with_the_synthetic_gaze(tmp_path):
    rng = np.random.default_rng(0)
    syn = rng.integers(0, 256, (24, 20, 20, 1), dtype=np.uint8)
    gaze = rng.normal(size=(24, 3)).astype(np.float32)
    gaze /= np.linalg.norm(gaze, axis=1, keepdims=True)
    s = write_dataset(tmp_path / "syn.h5", syn, {"gaze": gaze})
    r = write_dataset(tmp_path / "real.h5", syn[:16] // 2 + 60)
    torch.manual_seed(0)
    model = tmp_path / "gaze.pt"
    save_gaze_estimator(GazeEstimator(1, (20, 20), width=0.25), model)
    cfg = load_config("tiny", ["loss.lambda_label=1.0", f"loss.label_model={model}"])
    run = train(cfg, s, r, tmp_path / "runs", echo=False)
    labelled = [row["refiner_label"] for row in _rows(run) if "refiner_label" in row]
    assert len(labelled) == cfg.train.steps and all(math.isfinite(v) for v in labelled)
    # a synthetic set without gaze labels is refused with the fix
    bare = write_dataset(tmp_path / "bare.h5", syn)
    with pytest.raises(SimganError, match="no 'gaze' labels"):
        train(cfg, bare, r, tmp_path / "runs", echo=False)


def test_a_checkpoint_from_before_the_options_still_resumes(domains, tmp_path):
    s, r = domains
    short = load_config("tiny", ["train.steps=1", "log.checkpoint_every=100"])
    part = train(short, s, r, tmp_path, echo=False)
    path = part / "checkpoints" / "last.pt"
    ckpt = load_checkpoint(path)
    ckpt.pop("format"), ckpt.pop("simgan_version")
    del ckpt["config"]["augment"]  # as written before these options existed
    for key in ("r1_gamma", "psi_sigma", "reg_distance", "lambda_label"):
        del ckpt["config"]["loss"][key]
    del ckpt["config"]["model"]["spectral_norm"]
    save_checkpoint(ckpt, path)
    resumed = train(load_config("tiny"), s, r, tmp_path, resume=part, echo=False)
    assert load_checkpoint(resumed / "checkpoints" / "last.pt")["step"] == 8


def test_a_run_with_refiner_options_loads_for_refining(domains, tmp_path):
    """load_refiner builds the refiner with the run's own options (norm, residual)."""
    s, r = domains
    opts = ["model.refiner_norm=instance", "model.residual=true", "model.zero_init_last=true"]
    run = train(load_config("tiny", [*opts, "train.steps=2"]), s, r, tmp_path, echo=False)
    refiner, cfg, _ = load_refiner(run)
    assert cfg.model.refiner_norm == "instance"
    saved = load_checkpoint(run / "checkpoints" / "last.pt")["refiner"]
    assert all(torch.equal(v, saved[k]) for k, v in refiner.state_dict().items())
    x = torch.rand(2, 1, 12, 20) * 2 - 1
    assert refiner(x).shape == x.shape
