"""The preservation estimator: appearance-only jitter, a stopping rule, its record."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simgan.errors import SimganError
from simgan.evaluate import StopRule, iris_centre, train_preservation_estimator
from simgan.evaluate.appearance import appearance_jitter
from simgan.images import to_network
from test_eval_toys import toy_eyes


def test_appearance_jitter_changes_looks_not_the_iris_position():
    x, _, centres = toy_eyes(60, seed=2, noise=1.0)
    torch.manual_seed(0)
    j = appearance_jitter(to_network(torch.from_numpy(x)))
    assert j.shape == (60, 1, 35, 55) and j.min() >= -1 and j.max() <= 1
    back = ((j.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().astype(np.uint8)
    assert np.abs(back.astype(int) - x).mean() > 8  # a real change of appearance
    moved = np.linalg.norm(iris_centre(back) - iris_centre(x), axis=1)
    assert np.median(moved) < 0.5


def test_training_stops_at_a_plateau_and_keeps_the_best_check():
    x, g, _ = toy_eyes(200, seed=0)
    rule = StopRule(max_steps=2000, eval_every=5, patience=1, min_gain=0.5, max_drops=1)
    model, info = train_preservation_estimator(x, g, width=0.125, batch_size=16, rule=rule)
    assert info["stopped"] == "plateau" and info["steps"] < 2000
    assert info["val_count"] == 30 and info["train_count"] == 170
    assert not model.training and info["val_error_deg"] > 0


def test_bad_stop_rules_and_tiny_sets_are_clear_errors():
    x, g, _ = toy_eyes(20, seed=0)
    with pytest.raises(SimganError, match="stop rule"):
        train_preservation_estimator(x, g, rule=StopRule(lr_drop=1.5))
    with pytest.raises(SimganError, match="too few"):
        train_preservation_estimator(x[:2], g[:2])
