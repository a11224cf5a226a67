"""`simgan eval all`: scores a run and writes metrics.json that the report then shows."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from simgan.cli import main
from simgan.config import load_config
from simgan.data import write_dataset
from simgan.data.dataset import DatasetReader
from simgan.data.eyes import DEFAULT_PROFILE, render_eyes, write_synthetic_eyes
from simgan.evaluate import preservation, save_gaze_estimator, train_gaze_estimator
from simgan.evaluate.fresh_set import fresh_stream
from simgan.evaluate.run_eval import evaluate_run
from simgan.refine import load_refiner, refine_array
from simgan.training import train


def test_eval_all_writes_metrics_the_report_reads(tmp_path, capsys):
    syn, labels = render_eyes(48, seed=0, size=(35, 55))
    real, _ = render_eyes(48, seed=7, size=(35, 55))
    s = write_dataset(tmp_path / "syn.h5", syn, labels)
    r = write_dataset(tmp_path / "real.h5", (real * 0.6).astype("uint8"))
    test = write_dataset(tmp_path / "test.h5", real, {"gaze": render_eyes(48, 7)[1]["gaze"]})
    run = train(load_config("tiny", ["train.steps=2"]), s, r, tmp_path / "runs", echo=False)
    assert (
        main(
            [
                "eval",
                "all",
                str(run),
                "--test",
                str(test),
                "--count",
                "48",
                "--epochs",
                "1",
                "--min-steps",
                "10",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    for key in (
        "c2st_accuracy_raw_synthetic",
        "c2st_accuracy_refined",
        "kid_raw_synthetic",
        "kid_refined",
        "mean_angular_error_deg",
        "preservation",
    ):
        assert key in out, key
    assert 0 <= out["c2st_accuracy_refined"] <= 1
    assert out["gaze_raw_synthetic"]["mean_angular_error_deg"] > 0
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["c2st_accuracy"] == out["c2st_accuracy"]
    html = tmp_path / "report.html"
    assert main(["report", str(run), "-o", str(html)]) == 0
    assert "Not computed yet" not in html.read_text()
    assert main(["eval", "all", str(tmp_path / "nope")]) == 2


def test_eval_run_reads_gaze_with_a_saved_estimator(tmp_path):
    """A saved gaze estimator (simgan eval gaze --save-model) scores preservation on every
    image, and gives the same figure as the same estimator passed in memory."""
    syn, labels = render_eyes(32, seed=0, size=(35, 55))
    real, _ = render_eyes(32, seed=7, size=(35, 55))
    s = write_dataset(tmp_path / "syn.h5", syn, labels)
    r = write_dataset(tmp_path / "real.h5", real)
    run = train(load_config("tiny", ["train.steps=2"]), s, r, tmp_path / "runs", echo=False)
    estimator = train_gaze_estimator(syn, labels["gaze"], epochs=1, width=0.25)
    save_gaze_estimator(estimator, tmp_path / "gaze.pt")
    out = evaluate_run(
        run, count=32, epochs=1, min_steps=5, gaze_estimator=tmp_path / "gaze.pt", write=False
    )
    refined = refine_array(load_refiner(run)[0], syn)
    direct = preservation(syn, refined, labels["gaze"], estimator)
    got = out["preservation"]
    assert got["gaze_estimator"] == str(tmp_path / "gaze.pt")
    assert got["gaze_count"] == 32 == direct["gaze_count"]  # every image: none held out
    assert abs(got["gaze_shift_deg_mean"] - direct["gaze_shift_deg_mean"]) < 1e-6
    assert not (run / "metrics.json").exists()
    # a second reading of the same refiner, without the realism scores
    reread = evaluate_run(
        run, count=32, gaze_estimator=tmp_path / "gaze.pt", write=False, realism=False
    )
    assert not any(k.startswith(("c2st", "kid")) for k in reread)
    assert reread["preservation"]["gaze_shift_deg_mean"] == got["gaze_shift_deg_mean"]
    args = ["eval", "all", str(run), "--count", "32", "--epochs", "1", "--json"]
    assert main([*args, "--min-steps", "5", "--gaze-model", str(tmp_path / "gaze.pt")]) == 0
    assert json.loads((run / "metrics.json").read_text())["preservation"]["gaze_count"] == 32
    with pytest.raises(SystemExit):
        main([*args, "--min-steps", "-1"])


def test_eval_run_gaze_model_errors_before_computing(tmp_path, capsys):
    """A --gaze-model that cannot be used (no gaze labels, a corrupt file) is one clear
    error, raised before anything is computed, and no metrics.json is written."""
    syn, _ = render_eyes(16, seed=0, size=(35, 55))
    s = write_dataset(tmp_path / "syn.h5", syn)  # no gaze
    r = write_dataset(tmp_path / "real.h5", render_eyes(16, seed=7, size=(35, 55))[0])
    run = train(load_config("tiny", ["train.steps=2"]), s, r, tmp_path / "runs", echo=False)
    save_gaze_estimator(
        train_gaze_estimator(syn, render_eyes(16)[1]["gaze"], epochs=1, width=0.25),
        tmp_path / "gaze.pt",
    )
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    for model, words in (("gaze.pt", "has no gaze labels"), ("junk.pt", "junk.pt")):
        args = ["eval", "all", str(run), "--count", "16", "--gaze-model", str(tmp_path / model)]
        assert main(args) == 2
        assert words in capsys.readouterr().err
        assert not (run / "metrics.json").exists()


def test_eval_run_scores_fresh_simulator_eyes_past_the_training_file(tmp_path):
    """A run trained on a simulator file is scored on the stream past that file: eyes the
    refiner never saw, and scored_on says so; --training-images scores the file itself."""
    s = write_synthetic_eyes(tmp_path / "syn.h5", 40, seed=3, workers=1)
    r = write_dataset(tmp_path / "real.h5", render_eyes(40, seed=7)[0])
    run = train(load_config("tiny", ["train.steps=2"]), s, r, tmp_path / "runs", echo=False)
    stream = fresh_stream(s)
    assert stream is not None and stream.file_count == 40 and stream.seed == 3
    fresh, _ = stream.render(24)
    np.testing.assert_array_equal(fresh, render_eyes(24, seed=3, start=40)[0])
    with DatasetReader(s) as reader:
        trained_on, _ = reader.read()
    assert not (fresh[:, None] == trained_on[None]).all(axis=(2, 3, 4)).any()  # none repeats
    quick = dict(count=24, min_steps=5, estimator_count=60, write=False)
    out = evaluate_run(run, **quick)
    assert out["scored_on"].startswith("fresh simulator eyes 40..63 of stream seed 3")
    p = out["preservation"]
    assert p["count"] == p["gaze_count"] == 24  # every scored image: the estimator saw none
    assert p["estimator"]["trained_on"].startswith("fresh simulator eyes 64..123")
    assert p["estimator_error_deg"] == p["gaze_error_synthetic_deg"] > 0
    old = evaluate_run(run, **quick, fresh=False)
    assert old["scored_on"].startswith("the run's training images")
    assert "estimator" in old["preservation"] and old["preservation"]["gaze_count"] == 5


def test_a_file_the_simulator_does_not_reproduce_is_not_extended(tmp_path):
    s = write_synthetic_eyes(tmp_path / "syn.h5", 8, seed=0, workers=1)
    with DatasetReader(s) as reader:
        images, labels = reader.read()
        attrs = reader.attrs
    write_dataset(tmp_path / "edited.h5", 255 - images, labels, attrs=attrs)
    assert fresh_stream(tmp_path / "edited.h5") is None
    assert fresh_stream(write_dataset(tmp_path / "plain.h5", images, labels)) is None


def test_a_file_of_another_profile_is_extended_with_that_profile(tmp_path):
    """A `--like` file (its own eye profile) gets fresh eyes drawn from that profile."""
    prof = replace(DEFAULT_PROFILE, mirror_share=1.0, jpeg_quality=70).with_ranges(
        shift_y=(0.0, 0.02)
    )
    s = write_synthetic_eyes(tmp_path / "syn.h5", 6, seed=2, size=(36, 60), profile=prof)
    stream = fresh_stream(s)
    assert stream is not None and stream.profile == prof
    fresh, labels = stream.render(5)
    expect, _ = render_eyes(5, seed=2, size=(36, 60), start=6, profile=prof)
    np.testing.assert_array_equal(fresh, expect)
    assert (labels["side"] == 1).all()
