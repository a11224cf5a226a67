"""The built-in demos on a tiny budget: they run end to end and report what they promise."""

from __future__ import annotations

import json

import numpy as np

from simgan.cli import main

TINY = [
    "train.batch_size=16",
    "train.pretrain_refiner_steps=2",
    "train.pretrain_discriminator_steps=2",
    "train.steps=3",
    "log.progress=false",
    "log.sample_every=2",
    "log.checkpoint_every=5",
]


def test_digits_demo_prints_accuracies(tmp_path, capsys, quick_cnn):
    args = ["demo", "--out", str(tmp_path), "--count", "300"]
    for o in TINY:
        args += ["--set", o]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "raw synthetic digits" in out and "REFINED synthetic digits" in out and "ceiling" in out
    assert "898 unlabeled / 449 validation / 450 test" in out
    (folder,) = tmp_path.iterdir()
    results = json.loads((folder / "results.json").read_text())
    for key in ("accuracy_raw_synthetic", "accuracy_refined_synthetic", "accuracy_real_trained"):
        assert 0.0 <= results[key] <= 1.0
    assert results["test_count"] == 1797 - 1797 // 2 - 1797 // 4
    # a real-trained classifier on real digits is far above chance: the test set is real
    assert results["accuracy_real_trained"] > 0.8
    for clf in ("logistic", "svm", "knn", "cnn"):  # every classifier, both labelled splits
        for split in ("val", "test"):
            assert results[f"{split}_{clf}_real_trained"] > 0.8
    assert (folder / "synthetic_refined_real.png").exists() and (
        folder / "accuracy_bars.png"
    ).exists()
    (header,) = [line for line in out.splitlines() if line.strip().startswith("classifier")]
    assert header.split()[1:] == ["logistic", "svm", "knn", "cnn"]
    # the demo's recipe: the semantic-consistency term, its frozen classifier in the folder
    assert results["consistency"] == 1.0 and (folder / "label_model.pt").is_file()
    config = (folder / results["run"].split("/")[-1] / "config.yaml").read_text()
    assert "discriminator: whole" in config and "lambda_label: 1.0" in config


def test_eyes_demo_against_a_folder_of_real_eyes(tmp_path, capsys):
    from PIL import Image

    from simgan.data.eyes import render_eyes

    real_dir = tmp_path / "real"
    real_dir.mkdir()
    images, _ = render_eyes(64, seed=99, size=(36, 60))
    for i, img in enumerate(images):  # a stand-in "real" domain: darker, as PNG files
        Image.fromarray((img[..., 0] * 0.7).astype(np.uint8)).save(real_dir / f"{i}.png")
    args = [
        "demo",
        "eyes",
        "--real",
        str(real_dir),
        "--out",
        str(tmp_path / "runs"),
        "--count",
        "64",
    ]
    for o in TINY:
        args += ["--set", o]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "raw synthetic eyes" in out and "refined synthetic eyes" in out
    (folder,) = (tmp_path / "runs").iterdir()
    results = json.loads((folder / "results.json").read_text())
    assert 0 <= results["c2st_raw_synthetic"] <= 1 and 0 <= results["c2st_refined"] <= 1
    assert (folder / "refined.h5").exists() and (folder / "synthetic_refined_real.png").exists()


def test_eyes_demo_needs_real(tmp_path, capsys):
    assert main(["demo", "eyes", "--out", str(tmp_path)]) == 2
    assert "--real" in capsys.readouterr().err
    assert main(["demo", "eyes", "--real", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    capsys.readouterr()
    assert main(["demo", "eyes", "--consistency", "1", "--out", str(tmp_path)]) == 2
    assert "--consistency is a digits option" in capsys.readouterr().err


def test_the_real_digits_split_three_ways_once():
    from simgan.experiments.digits_demo import split_real_digits

    unlabeled, val, test = split_real_digits(1797)
    assert (len(unlabeled), len(val), len(test)) == (898, 449, 450)
    together = np.concatenate([unlabeled, val, test])
    assert sorted(together) == list(range(1797))  # disjoint and complete
    again = split_real_digits(1797)
    assert all(np.array_equal(a, b) for a, b in zip((unlabeled, val, test), again, strict=True))
