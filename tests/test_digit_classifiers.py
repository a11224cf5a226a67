"""Downstream digit classifiers, the whole-digit discriminator and the semantic-consistency
term with a frozen digit classifier (issue 15's pieces)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from simgan.config import load_config
from simgan.data import write_dataset
from simgan.data.digits import load_real_digits, render_digits
from simgan.errors import SimganError
from simgan.evaluate.digit_classifiers import (
    classifier_accuracy,
    fit_classifier,
    load_digit_classifier,
    predict_digits,
    save_digit_classifier,
    train_digit_cnn,
)
from simgan.evaluate.gaze_estimation import save_gaze_estimator
from simgan.experiments.digits_demo import (
    LABEL_MODEL,
    class_rows,
    consistency_overrides,
    score_classifiers,
)
from simgan.models import build_discriminator, patch_grid
from simgan.models.gaze_estimator import GazeEstimator
from simgan.report.plots import bars_png
from simgan.training import read_metrics, train
from simgan.training.label_model import label_name


@pytest.fixture(scope="module")
def real_halves():
    x, y = load_real_digits()
    order = np.random.default_rng(0).permutation(len(x))
    a, b = order[: len(x) // 2], order[len(x) // 2 :]
    return x[a], y[a], x[b], y[b]


@pytest.mark.parametrize("name", ["logistic", "svm", "knn"])
def test_each_classifier_learns_real_digits(real_halves, name):
    acc = classifier_accuracy(name, *real_halves)
    assert acc > 0.9, acc


def test_the_cnn_learns_real_digits_and_round_trips(real_halves, tmp_path):
    xa, ya, xb, yb = real_halves
    model = train_digit_cnn(xa, ya, seed=0, steps=300)
    pred = predict_digits(model, xb)
    assert (pred == yb).mean() > 0.9
    save_digit_classifier(model, tmp_path / "cnn.pt")
    again = load_digit_classifier(tmp_path / "cnn.pt")
    assert np.array_equal(predict_digits(again, xb), pred)
    torch.save({"kind": "something"}, tmp_path / "other.pt")
    with pytest.raises(SimganError, match="not a digit classifier"):
        load_digit_classifier(tmp_path / "other.pt")


def test_unknown_classifier_is_refused(real_halves):
    with pytest.raises(SimganError, match="unknown classifier 'tree'"):
        classifier_accuracy("tree", *real_halves)


def test_the_whole_digit_discriminator_gives_one_verdict_per_digit():
    assert patch_grid("whole", 8, 8) == (1, 1)
    d = build_discriminator("whole", 1)
    x = torch.zeros(3, 1, 8, 8, requires_grad=True)
    out = d(x)
    assert out.shape == (3, 2, 1, 1)
    out[0].sum().backward()  # the one verdict depends on every pixel of its digit
    assert (x.grad[0].abs() > 0).all() and (x.grad[1:] == 0).all()


def test_label_model_files_say_which_label_they_need(tmp_path):
    cnn = tmp_path / "cnn.pt"
    save_digit_classifier(train_digit_cnn(*render_digits(50, seed=0), steps=2), cnn)
    gaze = tmp_path / "gaze.pt"
    save_gaze_estimator(GazeEstimator(1, (20, 20), width=0.25), gaze)
    assert label_name(cnn) == "label" and label_name(gaze) == "gaze"
    with pytest.raises(SimganError, match="not found"):
        label_name(tmp_path / "missing.pt")


def test_semantic_consistency_trains_with_a_frozen_classifier(tmp_path):
    syn, labels = render_digits(64, seed=0)
    real, _ = load_real_digits()
    s = write_dataset(tmp_path / "syn.h5", syn, {"label": labels})
    r = write_dataset(tmp_path / "real.h5", real[:64])
    cnn = tmp_path / "cnn.pt"
    model = train_digit_cnn(syn, labels, steps=50)
    save_digit_classifier(model, cnn)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sets = ["loss.lambda_label=1.0", f"loss.label_model={cnn}", "model.discriminator=whole"]
    run = train(load_config("tiny", sets), s, r, tmp_path / "runs", echo=False)
    terms = [row["refiner_label"] for row in read_metrics(run) if "refiner_label" in row]
    assert len(terms) == 4 and all(math.isfinite(v) and v > 0 for v in terms)
    after = load_digit_classifier(cnn).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the classifier stays frozen"


def test_each_classifier_is_fitted_once_and_scored_on_every_split(real_halves):
    xa, ya, xb, yb = real_halves
    splits = {"val": np.arange(0, 200), "test": np.arange(200, 400)}
    sets = {"raw_synthetic": (xa, ya), "refined_synthetic": (xa, ya), "real_trained": (xa, ya)}
    flipped = {**sets, "raw_synthetic": (xa, (ya + 1) % 10)}  # every raw label wrong
    r = score_classifiers(["knn"], flipped, xb, yb, splits, seed=0)
    for split in splits:
        assert r[f"{split}_knn_raw_synthetic"] < 0.1 < 0.9 < r[f"{split}_knn_refined_synthetic"]
        # refined as good as the ceiling here: the whole gap closed
        assert r[f"{split}_knn_gap_closed"] == pytest.approx(1.0)
    same = score_classifiers(["knn"], sets, xb, yb, splits, seed=0)
    assert math.isnan(same["val_knn_gap_closed"])  # no gap to close


def test_the_per_class_picture_rows_pair_each_digit_with_its_refinement():
    syn, labels = render_digits(200, seed=0)
    refined = 255 - syn
    real, real_labels = load_real_digits()
    rows = class_rows(syn, refined, labels, real, real_labels, per_class=2)
    assert all(len(r) == 10 * 3 - 1 for r in rows)  # 2 per class + a blank between classes
    for c in range(10):
        idx = np.flatnonzero(labels == c)[:2]
        assert np.array_equal(rows[0][3 * c : 3 * c + 2], syn[idx])
        assert np.array_equal(rows[1][3 * c : 3 * c + 2], refined[idx])
        real_idx = np.flatnonzero(real_labels == c)[:2]
        assert np.array_equal(rows[2][3 * c : 3 * c + 2], real[real_idx])
    assert (rows[0][2] == 255).all()  # the blank between class 0 and class 1


def test_accuracy_bars_are_a_png():
    png = bars_png({"logistic": [0.5, 0.6, 0.9], "cnn": [0.6, 0.7, 0.99]}, ("a", "b", "c"), "t")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    assert image.width > image.height > 100


def test_consistency_overrides_train_a_frozen_synthetic_classifier(tmp_path, quick_cnn):
    syn, labels = render_digits(100, seed=0)
    sets, model = consistency_overrides(tmp_path, syn, labels, seed=0, weight=0.5)
    assert sets == [f"loss.label_model={tmp_path / LABEL_MODEL}", "loss.lambda_label=0.5"]
    cfg = load_config("digits", sets)
    assert cfg.loss.lambda_label == 0.5 and label_name(cfg.loss.label_model) == "label"
    # the demo reuses it as the CNN trained on raw synthetic digits: the same network
    real, _ = load_real_digits()
    again = fit_classifier("cnn", syn, labels, seed=0)
    assert np.array_equal(predict_digits(model, real), again(real))
