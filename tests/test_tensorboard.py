"""TensorBoard events (log.tensorboard): the same scalars as metrics.jsonl, the sample
grids, every step once after a resume, and a clear message without the extra."""

from __future__ import annotations

import pytest

from simgan.config import load_config
from simgan.errors import SimganError
from simgan.training import read_metrics, train

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="needs the tensorboard extra: pip install 'simgan[tensorboard]'",
)

TB = ["log.tensorboard=true", "train.steps=4", "log.checkpoint_every=4"]


def _events(run):
    acc = event_accumulator.EventAccumulator(
        str(run / "tensorboard"), size_guidance={event_accumulator.SCALARS: 0}
    )
    acc.Reload()
    return acc


def _jsonl_series(run) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for row in read_metrics(run):
        for k, v in row.items():
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool):
                out.setdefault(k, []).append((row["step"], float(v)))
    return out


def _assert_same(run) -> None:
    acc = _events(run)
    jsonl = _jsonl_series(run)
    assert jsonl, "metrics.jsonl has no rows"
    assert sorted(acc.Tags()["scalars"]) == sorted(jsonl)
    for tag, rows in jsonl.items():
        board = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert [s for s, _ in board] == [s for s, _ in rows], tag
        assert [v for _, v in board] == pytest.approx([v for _, v in rows], rel=1e-6), tag


def test_events_hold_every_metrics_row_and_the_sample_grids(domains, tmp_path):
    s, r = domains
    run = train(load_config("tiny", TB), s, r, tmp_path, echo=False)
    _assert_same(run)
    images = _events(run).Tags()["images"]
    assert "samples/synthetic_refined_difference" in images
    assert "samples/history" in images


def test_a_resume_appends_without_repeating_steps(domains, tmp_path):
    """Resume from the checkpoint of step 4 of an 8-step run: steps 5..8 are trained twice,
    and both metrics.jsonl and the events show each of them once, with the second values."""
    s, r = domains
    cfg = load_config("tiny", TB)
    run = train(cfg, s, r, tmp_path, echo=False)
    before = _jsonl_series(run)
    train(cfg, s, r, tmp_path, resume=run / "checkpoints" / "step_0000004.pt", echo=False)
    steps = [step for step, _ in _jsonl_series(run)["lr_refiner"]]
    assert steps == sorted(set(steps)) == [step for step, _ in before["lr_refiner"]]
    _assert_same(run)


def test_missing_extra_is_one_clear_message(domains, tmp_path, monkeypatch):
    import simgan.training.loop as loop

    def missing():
        raise SimganError("log.tensorboard needs the tensorboard package; pip install ...")

    monkeypatch.setattr(loop, "need_tensorboard", missing)
    s, r = domains
    with pytest.raises(SimganError, match="tensorboard package"):
        train(load_config("tiny", TB), s, r, tmp_path, echo=False)
    assert not any(tmp_path.glob("*-tiny")), "no run folder for a run that cannot log"
