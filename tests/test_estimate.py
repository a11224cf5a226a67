"""Time stated before it is spent: the dry run and the start of training time a few steps
here and print the expected duration; a GPU-sized config on a CPU says so and names the CPU
budget."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from simgan.cli import main
from simgan.config import load_config
from simgan.data import write_dataset
from simgan.experiments.budgets import EYES_CPU_BUDGET
from simgan.training import estimate, train
from simgan.training.batches import ImageBank
from simgan.training.estimate import Estimate, format_duration, is_gpu_sized, plan_training

UNITS = {"s": 1, "min": 60, "h": 3600, "days": 86400}


def _seconds(text: str) -> float:
    """The expected duration printed in `text`, in seconds ('3 min 20 s' -> 200)."""
    m = re.search(r"expected duration: (.+?) here", text)
    assert m, text
    parts = re.findall(r"([\d.]+) (days|min|h|s)", m.group(1))
    return sum(float(v) * UNITS[u] for v, u in parts)


def _files(tmp_path, shape, n=40):
    rng = np.random.default_rng(0)
    syn = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    s = write_dataset(tmp_path / "syn.h5", syn, overwrite=True)
    r = write_dataset(tmp_path / "real.h5", syn[: n - 10] // 2 + 60, overwrite=True)
    return str(s), str(r)


def _dry_run(tmp_path, capsys, config, *sets, shape=(8, 8, 1)) -> str:
    # the eyes preset's batch of 512 needs as many images (under 2,048: see batches.indices)
    s, r = _files(tmp_path, shape, n=40 if shape[0] == 8 else 1000)
    args = ["train", "--synthetic", s, "--real", r, "--out", str(tmp_path / "runs")]
    args += ["--config", config, "--dry-run"]
    for item in sets:
        args += ["--set", item]
    assert main(args) == 0
    assert not (tmp_path / "runs").exists()
    return capsys.readouterr().out


def test_dry_run_prints_an_expected_duration_that_scales_with_steps(tmp_path, capsys):
    short = _dry_run(tmp_path, capsys, "tiny")
    assert "CPU threads: 1 torch thread" in short  # OMP_NUM_THREADS, or auto, or 1 free core
    assert 0 < _seconds(short)
    assert "adversarial 4 x " in short and "warning" not in short
    long = _dry_run(tmp_path, capsys, "tiny", "train.steps=4000")
    assert "adversarial 4,000 x " in long
    assert _seconds(long) > 100 * _seconds(short)


def test_training_logs_the_expected_duration(tmp_path):
    s, r = _files(tmp_path, (8, 8, 1))
    run = train(load_config("tiny"), s, r, tmp_path / "runs", echo=False)
    log = (run / "log.txt").read_text()
    assert "expected duration: " in log and _seconds(log) > 0
    assert "CPU threads: " in log


def _fake_step_times(monkeypatch):
    """Steps that take 20 ms per image: eyes at batch 512 is a GPU's job, the budget is not
    (without timing the eyes networks at batch 512 on this CPU, which takes half a minute)."""
    per_image = 0.02
    monkeypatch.setattr(
        estimate._Probe, "time", lambda probe, phase: probe.batches[0].shape[0] * per_image
    )


def test_gpu_sized_config_on_a_cpu_is_warned_with_the_cpu_budget(tmp_path, capsys, monkeypatch):
    _fake_step_times(monkeypatch)
    out = _dry_run(tmp_path, capsys, "eyes", "device=cpu", shape=(35, 55, 1))
    (warning,) = [line for line in out.splitlines() if line.startswith("warning:")]
    assert "config eyes (batch 512, 11,200 steps) is sized for a GPU" in warning
    assert "EYES_CPU_BUDGET" in warning
    assert " ".join(f"--set {o}" for o in EYES_CPU_BUDGET) in warning
    # 11,200 steps of 10.2 s (draws extra): 32 h; the budget, 2,650 steps at batch 32: 28 min
    assert re.search(r"about 3\d h \d\d min on this CPU", warning)
    assert re.search(r"takes about 2\d min \d\d s here", warning)
    out = _dry_run(tmp_path, capsys, "tiny")
    assert "warning" not in out
    out = _dry_run(tmp_path, capsys, "eyes", "device=cpu", *EYES_CPU_BUDGET, shape=(35, 55, 1))
    assert "warning" not in out  # the budget itself is sized for the CPU


def test_what_counts_as_gpu_sized():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    eyes, tiny = load_config("eyes"), load_config("tiny")
    assert is_gpu_sized(eyes, cpu, 60.0) and not is_gpu_sized(eyes, gpu, 1e6)
    assert not is_gpu_sized(load_config("eyes", list(EYES_CPU_BUDGET)), cpu, 600.0)
    assert not is_gpu_sized(tiny, cpu, 1.0) and is_gpu_sized(tiny, cpu, 3 * 3600.0)


def test_timing_leaves_the_real_run_untouched(tmp_path):
    """The probe draws nothing from torch's global generator (nor the run's generators), so a
    run with it repeats exactly what it did without it."""
    s, r = _files(tmp_path, (8, 8, 1))
    banks = {"synthetic": ImageBank.from_file(s), "real": ImageBank.from_file(r)}
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    plan = plan_training(load_config("tiny"), 1, 8, 8, torch.device("cpu"), banks=banks)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert set(plan.estimate.draw_s) == {"synthetic", "real"}
    assert plan.estimate.seconds() > 0


def test_estimate_arithmetic_and_resume():
    cfg = load_config("tiny")  # 2 + 2 + 4 steps
    per = {"pretrain_refiner": 1.0, "pretrain_discriminator": 2.0, "adversarial": 10.0}
    e = Estimate(per, estimate.phase_steps(cfg), "cpu", 8, 1)
    assert e.seconds() == 2 * 1 + 2 * 2 + 4 * 10
    assert e.seconds(from_step=3) == 2 + 40  # resumed in pretrain D
    assert e.seconds(from_step=8) == 0
    assert "from step 3" in e.line(3)
    assert e.remaining(5) == {"pretrain_refiner": 0, "pretrain_discriminator": 0, "adversarial": 3}


@pytest.mark.parametrize(
    "seconds, text",
    [(0.04, "0.04 s"), (4.2, "4.2 s"), (42, "42 s"), (200, "3 min 20 s"), (18420, "5 h 07 min")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert format_duration(3.4 * 86400) == "3.4 days"
