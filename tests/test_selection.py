"""Checkpoint selection: held-out real training images, the score, best.pt, exact resume, and
the commands that use the best refiner."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from simgan.cli import main
from simgan.config import SelectConfig, load_config
from simgan.data import write_dataset
from simgan.errors import SimganError
from simgan.refine import load_refiner
from simgan.training import ImageBank, load_banks, read_metrics, train
from simgan.training import distributed as dist_
from simgan.training.checkpoint import load_checkpoint, refiner_checkpoint
from simgan.training.selection import Selector, held_out_rows

SELECT = ["select.every=2", "select.held_out=10", "select.count=8", "train.steps=6"]


@pytest.fixture
def distinct(tmp_path):
    """Synthetic (40) and real (30) 8x8 files whose real images all differ (row r is
    filled with the value 3r + 1), so a test can tell which rows a bank holds."""
    rng = np.random.default_rng(0)
    syn = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    real = np.repeat(np.arange(30, dtype=np.uint8) * 3 + 1, 64).reshape(30, 8, 8, 1)
    s = write_dataset(tmp_path / "syn.h5", syn)
    r = write_dataset(tmp_path / "real.h5", real)
    return s, r


def test_held_out_rows_are_a_seeded_draw_of_distinct_rows():
    select = SelectConfig(every=1, held_out=10)
    a = held_out_rows(100, select, seed=0)
    assert len(np.unique(a)) == 10 and list(a) == sorted(a) and a.max() < 100
    assert np.array_equal(a, held_out_rows(100, select, seed=0))
    assert not np.array_equal(a, held_out_rows(100, select, seed=1))
    with pytest.raises(SimganError, match="select.held_out 100 must be fewer"):
        held_out_rows(100, SelectConfig(every=1, held_out=100), seed=0, path="real.h5")


def test_without_rows_drops_exactly_those_file_rows():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    bank = ImageBank(images, file_count=20, offset=10)  # rows 10..19 of a 20-image file
    kept = bank.without_rows(np.array([3, 11, 12, 19]))
    assert kept.images.flatten().tolist() == [0, 3, 4, 5, 6, 7, 8]
    assert kept.file_count == 20


def test_the_discriminator_never_sees_the_held_out_images(distinct):
    s, r = distinct
    cfg = load_config("tiny", SELECT)
    _, real = load_banks(cfg, s, r, dist_.DistEnv())
    rows = held_out_rows(30, cfg.select, cfg.seed)
    trained_on = sorted((real.images[:, 0, 0, 0].long() - 1) // 3)
    assert len(trained_on) == 20
    assert set(trained_on).isdisjoint(rows.tolist())
    assert sorted(set(trained_on) | set(rows.tolist())) == list(range(30))


def test_a_run_keeps_its_best_scoring_refiner(distinct, tmp_path):
    s, r = distinct
    cfg = load_config("tiny", [*SELECT, "log.checkpoint_every=1"])
    run = train(cfg, s, r, tmp_path, echo=False)
    scores = {m["step"]: m["select_kid"] for m in read_metrics(run) if "select_kid" in m}
    # adversarial steps are 5..10: scored every 2 steps and at the last
    assert sorted(scores) == [6, 8, 10]
    record = json.loads((run / "checkpoints" / "best.json").read_text())
    assert record["step"] == min(scores, key=scores.get)
    assert record["score"] == pytest.approx(min(scores.values()))
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    same = load_checkpoint(run / "checkpoints" / f"step_{record['step']:07d}.pt")
    assert best["step"] == record["step"]
    for k, v in best["refiner"].items():
        assert torch.equal(v, same["refiner"][k])
    assert best["selection"] == {
        "metric": "kid",
        "best_score": record["score"],
        **{"best_step": record["step"]},
    }


def test_scoring_does_not_change_what_is_trained(distinct, tmp_path):
    """Scores every step or only at the end: the same held-out rows, the same weights."""
    s, r = distinct
    often = train(load_config("tiny", [*SELECT, "select.every=1"]), s, r, tmp_path, echo=False)
    rarely = train(load_config("tiny", [*SELECT, "select.every=99"]), s, r, tmp_path, echo=False)
    a = load_checkpoint(often / "checkpoints" / "last.pt")
    b = load_checkpoint(rarely / "checkpoints" / "last.pt")
    for net in ("refiner", "discriminator"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k}"


def test_resume_with_selection_is_exact(distinct, tmp_path):
    s, r = distinct
    cfg = load_config("tiny", [*SELECT, "log.checkpoint_every=100"])
    straight = train(cfg, s, r, tmp_path / "a", echo=False)
    short = load_config("tiny", [*SELECT, "train.steps=3", "log.checkpoint_every=100"])
    part = train(short, s, r, tmp_path / "b", echo=False)
    resumed = train(cfg, s, r, tmp_path / "b", resume=part, echo=False)
    a = json.loads((straight / "checkpoints" / "best.json").read_text())
    b = json.loads((resumed / "checkpoints" / "best.json").read_text())
    assert a == b
    wa = load_checkpoint(straight / "checkpoints" / "best.pt")["refiner"]
    wb = load_checkpoint(resumed / "checkpoints" / "best.pt")["refiner"]
    for k, v in wa.items():
        assert torch.equal(v, wb[k])


class _Constant(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, self.value) + 0 * self.w


@pytest.mark.parametrize("metric", ["kid", "c2st"])
def test_the_score_prefers_the_refiner_whose_output_looks_like_the_real_images(metric):
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (120, 8, 8, 1), dtype=np.uint8)
    synthetic = torch.from_numpy(real.copy()).permute(0, 3, 1, 2)
    select = SelectConfig(every=1, held_out=120, count=120, metric=metric)
    sel = Selector(select, real, synthetic, torch.device("cpu"))
    identity = nn.Identity()
    same, flat = sel.score(identity), sel.score(_Constant(0.5))
    assert same < flat
    assert sel.update(3, flat) and sel.best_step == 3
    assert sel.update(5, same) and sel.best_step == 5
    assert not sel.update(7, same)  # a tie keeps the earlier step


def test_refine_and_eval_use_the_best_checkpoint_unless_told(distinct, tmp_path, capsys):
    s, r = distinct
    run = train(load_config("tiny", SELECT), s, r, tmp_path / "runs", echo=False)
    ckpts = run / "checkpoints"
    assert refiner_checkpoint(run) == ckpts / "best.pt"
    assert refiner_checkpoint(run, "last") == ckpts / "last.pt"
    best = load_checkpoint(ckpts / "best.pt")["refiner"]
    model, _, _ = load_refiner(run)
    for k, v in model.state_dict().items():
        assert torch.equal(v, best[k])
    out = tmp_path / "refined.h5"
    assert main(["refine", "--run", str(run), "--input", str(s), "--out", str(out)]) == 0
    assert "best.pt" in capsys.readouterr().out
    args = ["refine", "--run", str(run), "--input", str(s), "--out", str(out), "--overwrite"]
    assert main([*args, "--checkpoint", "last"]) == 0
    assert "last.pt" in capsys.readouterr().out


def test_a_run_without_selection_stands_for_its_last_checkpoint(distinct, tmp_path):
    s, r = distinct
    run = train(load_config("tiny"), s, r, tmp_path, echo=False)
    assert refiner_checkpoint(run) == run / "checkpoints" / "last.pt"
    assert not (run / "checkpoints" / "best.pt").exists()
    with pytest.raises(SimganError, match="choose best or last"):
        refiner_checkpoint(run, "first")


def test_bad_selection_settings_are_refused(distinct, tmp_path):
    s, r = distinct
    with pytest.raises(SimganError, match="select.metric 'fid' must be kid or c2st"):
        load_config("tiny", ["select.every=2", "select.metric=fid"])
    with pytest.raises(SimganError, match="select.every must be >= 0"):
        load_config("tiny", ["select.every=-1"])
    cfg = load_config("tiny", ["select.every=2", "select.held_out=25"])
    with pytest.raises(SimganError, match="less select.held_out 25 are fewer than the batch"):
        train(cfg, s, r, tmp_path, echo=False)
