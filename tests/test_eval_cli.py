"""`simgan eval gaze` and `simgan eval realism`: one JSON object, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simgan.cli import main
from simgan.data import write_dataset
from test_eval_toys import toy_eyes

FAST_GAZE = ["--epochs", "1", "--width", "0.125", "--batch-size", "16", "--device", "cpu"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    x, g, _ = toy_eyes(160, seed=0)
    xt, gt, _ = toy_eyes(60, seed=1, size=(36, 60))
    write_dataset(d / "train.h5", x, {"gaze": g})
    write_dataset(d / "test.h5", xt, {"gaze": gt, "subject": np.repeat([1, 2, 3], 20)})
    noise = np.random.default_rng(0).integers(0, 256, (60, 35, 55, 1), dtype=np.uint8)
    write_dataset(d / "noise.h5", noise)
    return d


def _json(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


def test_eval_gaze_json(files, capsys, tmp_path):
    model = tmp_path / "g.pt"
    argv = ["eval", "gaze", "--train", str(files / "train.h5"), "--test", str(files / "test.h5")]
    assert main([*argv, "--json", "--save-model", str(model), *FAST_GAZE]) == 0
    res = _json(capsys)
    assert res["count"] == 60 and res["train_count"] == 160
    assert 0 <= res["mean_angular_error_deg"] < 90
    assert set(res["per_subject"]) == {"1", "2", "3"}
    assert model.exists()
    assert main([*argv, *FAST_GAZE, "--max-train", "50"]) == 0
    text = capsys.readouterr().out
    assert "mean" in text and "subject 2" in text


def test_eval_gaze_lopo(files, capsys):
    argv = ["eval", "gaze", "--test", str(files / "test.h5"), "--lopo", "--json", *FAST_GAZE]
    assert main(argv) == 0
    res = _json(capsys)
    assert res["protocol"] == "leave-one-person-out" and len(res["per_subject"]) == 3


def test_eval_gaze_errors(files, capsys):
    assert (
        main(
            [
                "eval",
                "gaze",
                "--train",
                str(files / "noise.h5"),
                "--test",
                str(files / "test.h5"),
                *FAST_GAZE,
            ]
        )
        == 2
    )
    assert "no gaze labels" in capsys.readouterr().err
    assert main(["eval", "gaze", "--test", str(files / "test.h5")]) == 2
    assert "--train" in capsys.readouterr().err


def test_eval_realism_json_and_size_check(files, capsys):
    argv = [
        "eval",
        "realism",
        "--real",
        str(files / "train.h5"),
        "--fake",
        str(files / "noise.h5"),
        "--epochs",
        "2",
        "--min-steps",
        "20",
        "--device",
        "cpu",
    ]
    assert main([*argv, "--json"]) == 0
    res = _json(capsys)
    assert res["c2st_accuracy"] > 0.9 and res["kid"] > 0
    assert {"ci95", "n_test", "kid_std", "n_real", "n_fake"} <= set(res)
    bad = ["eval", "realism", "--real", str(files / "test.h5"), "--fake", str(files / "noise.h5")]
    assert main([*bad, "--no-kid"]) == 2
    assert "--resize" in capsys.readouterr().err
    assert main([*bad, "--resize", "--no-c2st"]) == 0
    assert "KID" in capsys.readouterr().out
