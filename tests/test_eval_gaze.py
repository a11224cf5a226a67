"""The paper's gaze estimator: structure, training on a trivial labelled set, scoring, LOPO."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simgan.data.gaze_conventions import angular_error_deg, pitchyaw_to_vector
from simgan.errors import SimganError
from simgan.evaluate import (
    error_summary,
    evaluate_gaze,
    leave_one_person_out,
    load_gaze_estimator,
    predict_gaze,
    save_gaze_estimator,
    train_gaze_estimator,
)
from simgan.models.gaze_estimator import GazeEstimator, feature_map_size, gaze_loss
from test_eval_toys import toy_eyes

FAST = dict(epochs=3, batch_size=32, lr=3e-3, width=0.125)


@pytest.fixture(scope="module")
def toy_split():
    x, g, _ = toy_eyes(400, seed=0)
    xt, gt, _ = toy_eyes(200, seed=1)
    return x, g, xt, gt


@pytest.fixture(scope="module")
def trained(toy_split):
    x, g, _, _ = toy_split
    return train_gaze_estimator(x, g, seed=0, **FAST)


def test_paper_network_flattens_to_9600_at_35x55():
    assert feature_map_size((35, 55)) == (5, 10)
    m = GazeEstimator()
    assert m.flat_features == 9600  # the paper's "FC9600"
    linears = [l for l in m.head if isinstance(l, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(9600, 1000), (1000, 3)]
    literal = GazeEstimator(width=0.125, fc9600_layer=True)
    assert sum(isinstance(l, torch.nn.Linear) for l in literal.head) == 3


def test_output_is_unit_and_every_parameter_learns():
    m = GazeEstimator(channels=3, input_size=(36, 60), width=0.125)
    x = torch.rand(4, 3, 36, 60) * 2 - 1
    out = m(x)
    assert out.shape == (4, 3)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4))
    gaze_loss(out, torch.tensor([[0.0, 0.0, -1.0]]).expand(4, 3)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())


def test_too_small_input_and_wrong_shape_are_clear_errors():
    with pytest.raises(SimganError, match="too small"):
        GazeEstimator(input_size=(16, 55))
    with pytest.raises(ValueError, match="expects"):
        GazeEstimator(width=0.125)(torch.zeros(1, 1, 36, 60))


def test_error_summary_on_hand_made_vectors():
    truth = pitchyaw_to_vector(np.zeros((3, 2)))
    pred = pitchyaw_to_vector(np.radians([[0, 0], [0, 5], [10, 0]]))
    e = angular_error_deg(pred, truth)
    np.testing.assert_allclose(e, [0, 5, 10], atol=1e-4)
    s = error_summary(e)
    assert s["mean_angular_error_deg"] == pytest.approx(5.0, abs=1e-4)
    assert s["median_angular_error_deg"] == pytest.approx(5.0, abs=1e-4)
    assert s["within_7deg"] == pytest.approx(2 / 3)
    assert s["count"] == 3


def test_estimator_learns_a_trivial_labelled_set(toy_split, trained):
    _, g, xt, gt = toy_split
    res = evaluate_gaze(trained, xt, gt)
    # predicting the mean gaze for every image would be about 11 degrees off
    baseline = angular_error_deg(np.repeat(g.mean(0, keepdims=True), len(gt), 0), gt).mean()
    assert baseline > 8
    assert res["mean_angular_error_deg"] < 3.0
    assert res["within_7deg"] > 0.9
    assert set(res) == {
        "mean_angular_error_deg",
        "median_angular_error_deg",
        "within_7deg",
        "count",
    }


def test_training_is_seeded_and_leaves_the_global_rng_alone(toy_split):
    x, g, xt, _ = toy_split
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = train_gaze_estimator(x[:128], g[:128], seed=5, epochs=1, width=0.125)
    assert torch.rand(1) == before
    b = train_gaze_estimator(x[:128], g[:128], seed=5, epochs=1, width=0.125)
    np.testing.assert_array_equal(predict_gaze(a, xt[:16]), predict_gaze(b, xt[:16]))
    c = train_gaze_estimator(x[:128], g[:128], seed=6, epochs=1, width=0.125)
    assert not np.array_equal(predict_gaze(a, xt[:16]), predict_gaze(c, xt[:16]))


def test_predict_resizes_other_sizes_and_channels(trained):
    x36, g36, _ = toy_eyes(64, seed=2, size=(36, 60))
    rgb = np.repeat(x36, 3, axis=-1)
    p1 = predict_gaze(trained, x36)
    p3 = predict_gaze(trained, rgb)
    assert p1.shape == (64, 3)
    np.testing.assert_allclose(np.linalg.norm(p1, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(p1, p3, atol=1e-5)
    assert angular_error_deg(p1, g36).mean() < 8


def test_validation_split_keeps_history(toy_split):
    x, g, _, _ = toy_split
    m = train_gaze_estimator(x[:200], g[:200], seed=0, epochs=2, width=0.125, val_fraction=0.25)
    assert [h["epoch"] for h in m.history] == [1, 2]
    assert all("val_mean_angular_error_deg" in h for h in m.history)
    with pytest.raises(SimganError, match="val_fraction"):
        train_gaze_estimator(x[:20], g[:20], val_fraction=1.0)


def test_min_steps_raises_the_epochs_of_a_small_set(toy_split):
    x, g = toy_split[0][:64], toy_split[1][:64]  # one step per epoch at batch 128
    m = train_gaze_estimator(x, g, seed=0, epochs=1, width=0.125, min_steps=3)
    assert len(m.history) == 3
    m = train_gaze_estimator(x, g, seed=0, epochs=2, width=0.125, min_steps=1)
    assert len(m.history) == 2  # never lowered
    with pytest.raises(SimganError, match="min_steps"):
        train_gaze_estimator(x, g, epochs=1, min_steps=-1)


def test_bad_labels_are_clear_errors(toy_split):
    x, g, _, _ = toy_split
    with pytest.raises(SimganError, match="gaze"):
        train_gaze_estimator(x[:10], g[:9], epochs=1)
    with pytest.raises(SimganError, match="uint8"):
        train_gaze_estimator(x[:10].astype(np.float32), g[:10], epochs=1)


def test_leave_one_person_out_trains_once_per_subject(toy_split):
    x, g, _, _ = toy_split
    x, g = x[:90], g[:90]
    subject = np.repeat([3, 7, 9], 30)
    seen = []

    def train_fn(images, gaze):
        seen.append(len(images))
        return train_gaze_estimator(images, gaze, seed=0, epochs=1, width=0.125)

    res = leave_one_person_out(train_fn, x, g, subject)
    assert seen == [60, 60, 60]
    assert set(res["per_subject"]) == {"3", "7", "9"}
    means = [v["mean_angular_error_deg"] for v in res["per_subject"].values()]
    assert res["mean_angular_error_deg"] == pytest.approx(np.mean(means))
    assert res["count"] == 90
    with pytest.raises(SimganError, match="at least 2 subjects"):
        leave_one_person_out(train_fn, x, g, np.zeros(90))


def test_save_and_load_round_trip(tmp_path, trained, toy_split):
    xt = toy_split[2][:8]
    save_gaze_estimator(trained, tmp_path / "g.pt")
    back = load_gaze_estimator(tmp_path / "g.pt")
    np.testing.assert_array_equal(predict_gaze(back, xt), predict_gaze(trained, xt))
    (tmp_path / "bad.pt").write_bytes(b"nope")
    with pytest.raises(SimganError, match="bad.pt"):
        load_gaze_estimator(tmp_path / "bad.pt")
