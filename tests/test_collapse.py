"""The collapse check: refined_variety (how much the refined images vary over a batch, as a
share of their synthetic inputs) and the one warning a run gives when it falls below
COLLAPSE_VARIETY."""

from __future__ import annotations

import numpy as np
import torch

from simgan.config import load_config
from simgan.data import write_dataset
from simgan.training import build_state, refiner_update, train
from simgan.training.distributed import DistEnv
from simgan.training.monitor import COLLAPSE_VARIETY, Monitor, batch_variety
from simgan.training.run_dir import read_metrics


def test_batch_variety_on_known_batches():
    x = torch.linspace(-1, 1, 8 * 36).reshape(8, 1, 6, 6)
    assert abs(batch_variety(x, x).item() - 1.0) < 1e-5  # the identity keeps it
    assert abs(batch_variety(0.5 * x + 0.1, x).item() - 0.5) < 1e-5  # half the contrast
    constant = torch.full_like(x, -1.0)  # every refined image black
    assert batch_variety(constant, x).item() < 1e-4
    same = x[:1].expand_as(x)  # every refined image the same non-constant image
    assert batch_variety(same, x).item() < 1e-4
    # nothing to tell from: a batch of one, or identical synthetic images
    assert batch_variety(constant[:1], x[:1]).item() == 1.0
    assert abs(batch_variety(same, same).item() - 1.0) < 1e-5


def test_refiner_update_reports_the_variety():
    cfg = load_config("tiny")
    state = build_state(cfg, 1, torch.device("cpu"))
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    for adversarial in (False, True):
        m = refiner_update(state, cfg, x, adversarial)
        assert 0 < m["refined_variety"] < 10


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, echo: bool = True) -> None:
        self.lines.append(message)

    def metrics(self, row) -> None:
        pass


def _monitor(tmp_path, echo=False):
    cfg = load_config("tiny", ["train.steps=20"])
    state = build_state(cfg, 1, torch.device("cpu"))
    log = Log()
    return Monitor(cfg, state, DistEnv(), log, tmp_path, echo=echo), state, log


def _step(monitor, state, variety, phase="adversarial"):
    state.step += 1
    metrics = {"refiner_loss": torch.tensor(1.0), "refined_variety": torch.tensor(variety)}
    monitor.after_step(phase, metrics, 8, False)


def test_a_collapse_is_warned_once_with_the_fix(tmp_path, capsys):
    monitor, state, log = _monitor(tmp_path, echo=True)
    _step(monitor, state, 0.1, "pretrain_refiner")  # a fresh refiner: not yet the identity
    for variety in (1.0, 0.9, 0.6):  # healthy rows: nothing said
        _step(monitor, state, variety)
    assert log.lines == [] and monitor.collapsed_at is None
    for variety in (0.05, 0.01, 0.5, 0.02):
        _step(monitor, state, variety)
    assert monitor.collapsed_at == 5
    (line,) = log.lines  # once per run, at the first collapsed row
    assert "step 5" in line and "collapsed" in line and "5%" in line
    assert "loss.lambda_reg" in line and "select.every" in line
    assert "collapsed" in capsys.readouterr().err


def test_the_threshold_is_the_boundary(tmp_path):
    monitor, state, log = _monitor(tmp_path)
    _step(monitor, state, COLLAPSE_VARIETY)
    assert log.lines == []
    _step(monitor, state, COLLAPSE_VARIETY * 0.99)
    assert len(log.lines) == 1


# R pretrained towards the identity first, so the adversarial rows start near 1
PRETRAINED = ["train.pretrain_refiner_steps=40", "train.steps=20"]


def test_a_healthy_run_logs_the_variety_and_no_warning(domains, tmp_path):
    s, r = domains
    run = train(load_config("tiny", PRETRAINED), s, r, tmp_path / "runs", echo=False)
    rows = [row for row in read_metrics(run) if row["phase"] == "adversarial"]
    varieties = [row["refined_variety"] for row in rows]
    assert len(varieties) == 20 and all(v > 2 * COLLAPSE_VARIETY for v in varieties)
    assert "collapsed" not in (run / "log.txt").read_text()


def test_a_run_that_collapses_says_so(domains, tmp_path):
    """Real images all one grey and no self-regularization: R learns to draw that grey for
    every input, and the run says so once, in log.txt."""
    s, _ = domains
    r = write_dataset(tmp_path / "grey.h5", np.full((30, 8, 8, 1), 100, dtype=np.uint8))
    cfg = load_config("tiny", [*PRETRAINED, "train.steps=60", "loss.lambda_reg=0"])
    run = train(cfg, s, r, tmp_path / "runs", echo=False)
    rows = [row for row in read_metrics(run) if row["phase"] == "adversarial"]
    assert rows[0]["refined_variety"] > 2 * COLLAPSE_VARIETY  # it started healthy
    assert rows[-1]["refined_variety"] < COLLAPSE_VARIETY / 2
    (line,) = [x for x in (run / "log.txt").read_text().splitlines() if "collapsed" in x]
    first = next(row["step"] for row in rows if row["refined_variety"] < COLLAPSE_VARIETY)
    assert f"step {first}:" in line
