"""`simgan bench digits` and `simgan bench domain-gap` on a tiny budget through the CLI.

The real budgets take minutes per seed; here the refiner trains for a handful of steps so
the tests check the plumbing and the JSON, not the figures.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from simgan.cli import main
from simgan.cli.bench import parse_seeds
from simgan.experiments import digits_benchmark as digits
from simgan.experiments import domain_gap_benchmark as domain_gap
from simgan.experiments.seeds import json_safe, mean_std

TINY_TRAIN = [
    "--set",
    "train.steps=2",
    "--set",
    "train.pretrain_refiner_steps=2",
    "--set",
    "train.pretrain_discriminator_steps=1",
]


def _no_nan(token: str):
    raise AssertionError(f"non-standard JSON constant {token}")


def run_json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, "--json prints exactly one line"
    return json.loads(out[0], parse_constant=_no_nan)


def test_bench_digits_tiny_json(capsys, tmp_path, quick_cnn):
    r = run_json(
        capsys,
        ["bench", "digits", "--seeds", "0,1", "--count", "200", "--out", str(tmp_path)]
        + TINY_TRAIN
        + ["--set", "train.batch_size=16", "--json"],
    )
    assert r["benchmark"] == "digits" and r["seeds"] == [0, 1]
    assert [row["seed"] for row in r["per_seed"]] == [0, 1]
    for row in r["per_seed"]:
        raw, ref, top = (
            row[k]
            for k in (
                "accuracy_raw_synthetic",
                "accuracy_refined_synthetic",
                "accuracy_real_trained",
            )
        )
        assert all(0.0 <= a <= 1.0 for a in (raw, ref, top))
        assert top > 0.8  # the real-trained ceiling does not depend on the refiner
        assert row["gap_closed"] == pytest.approx((ref - raw) / (top - raw))
        assert row["test_count"] == 1797 - 1797 // 2 - 1797 // 4
    for k in ("accuracy_raw_synthetic", "accuracy_refined_synthetic", "gap_closed"):
        values = [row[k] for row in r["per_seed"]]
        assert r[k]["mean"] == pytest.approx(sum(values) / 2)
        assert r[k]["std"] == pytest.approx(abs(values[0] - values[1]) / 2)
        assert r[k]["n"] == 2
    assert len(list(tmp_path.glob("*-demo-digits"))) == 2  # --out keeps the run folders


def test_bench_domain_gap_tiny_json(capsys):
    r = run_json(
        capsys,
        ["bench", "domain-gap", "--seeds", "0", "--count", "32", "--target-count", "32"]
        + ["--epochs", "1", "--min-steps", "0"]
        + ["--width", "0.1", "--set", "train.batch_size=4"]
        + TINY_TRAIN
        + ["--json"],
    )
    assert r["benchmark"] == "domain-gap" and r["test_count"] == 16
    (row,) = r["per_seed"]
    errs = {k: row[k]["mean_angular_error_deg"] for k in ("synthetic", "refined", "oracle")}
    for k, e in errs.items():
        assert 0.0 < e < 180.0
        assert row[k]["count"] == 16
        assert r["mean_angular_error_deg"][k]["mean"] == pytest.approx(e)
    if errs["synthetic"] > errs["oracle"]:
        expected = (errs["synthetic"] - errs["refined"]) / (errs["synthetic"] - errs["oracle"])
        assert row["gap_closed"] == pytest.approx(expected)
    else:  # no gap on this tiny budget: undefined, printed as null
        assert row["gap_closed"] is None and r["gap_closed"]["n"] == 0


def test_bench_domain_gap_label_model_trains_the_frozen_estimator(capsys, tmp_path):
    r = run_json(
        capsys,
        ["bench", "domain-gap", "--seeds", "0", "--count", "32", "--target-count", "32"]
        + ["--epochs", "1", "--min-steps", "0", "--width", "0.1", "--set", "train.batch_size=4"]
        + ["--label-model", "--set", "loss.lambda_label=2", "--out", str(tmp_path)]
        + TINY_TRAIN
        + ["--json"],
    )
    assert r["label_model"] is True
    (row,) = r["per_seed"]
    folder = Path(row["run"]).parent  # the seed's folder: datasets, estimator, run
    assert (folder / "label_model.pt").is_file()
    config = (Path(row["run"]) / "config.yaml").read_text()
    assert "lambda_label: 2.0" in config and str(folder / "label_model.pt") in config


def test_bench_domain_gap_label_model_needs_a_weight_before_any_work(capsys, tmp_path):
    assert main(["bench", "domain-gap", "--label-model", "--out", str(tmp_path)]) == 2
    assert "loss.lambda_label" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before any folder was made


def test_parse_seeds():
    assert parse_seeds("0, 1,2") == (0, 1, 2)
    for bad in ("", "a,b", "1,1"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_seeds(bad)


def test_mean_std_skips_undefined_and_json_is_strict():
    assert mean_std([0.2, float("nan"), 0.4]) == {
        "mean": pytest.approx(0.3),
        "std": pytest.approx(0.1),
        "n": 2,
    }
    assert mean_std([float("nan")]) == {"mean": None, "std": None, "n": 0}
    safe = json_safe({"a": [math.inf, 1.0], "b": {"c": float("nan")}})
    assert safe == {"a": [None, 1.0], "b": {"c": None}}


def test_bench_bad_seeds_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "digits", "--seeds", "x", "--json"])
    assert e.value.code == 2


def test_text_summaries_show_undefined_gap_as_na():
    row = {"accuracy_raw_synthetic": 0.5, "accuracy_refined_synthetic": 0.6}
    row |= {"accuracy_real_trained": 0.9, "gap_closed": 0.25}
    r = {"seeds": [0], "synthetic_count": 5, "per_seed": [row]}
    r |= {k: {"mean": v, "std": 0.0} for k, v in row.items()}
    text = digits.format_summary(r)
    assert "60.0% +-   0.0" in text and "25.0%" in text
    e = {k: {"mean": 9.5, "std": 0.5} for k in ("synthetic", "refined", "oracle")}
    r = {"style": "mild", "seeds": [0], "synthetic_count": 5, "test_count": 3}
    r |= {"mean_angular_error_deg": e, "gap_closed": {"mean": None, "std": None}}
    text = domain_gap.format_summary(r)
    assert "9.50 deg +- 0.50" in text and "n/a" in text


def test_bench_eyes_holdout_script_tiny(shared_data, tmp_path, capsys, monkeypatch):
    """benchmarks/bench_eyes_holdout.py end to end on a handful of steps: JSON, report."""
    import runpy
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_eyes_holdout.py"
    tiny = ["train.batch_size=8", "train.steps=2", "train.pretrain_refiner_steps=2"]
    tiny += ["train.pretrain_discriminator_steps=1", "log.progress=false"]
    argv = [str(script), "--out", str(tmp_path), "--count", "48"]
    argv += [f"--set={o}" for o in tiny]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(script), run_name="__main__")
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["benchmark"] == "eyes_holdout" and r["synthetic_count"] == 48
    for k in ("c2st_accuracy_raw_synthetic", "c2st_accuracy_refined"):
        assert 0.0 <= r[k] <= 1.0
    assert r["preservation"]["count"] == 48
    assert Path(r["report"]).is_file() and "holdout.h5" in Path(r["report"]).read_text()


def test_eye_cpu_budget_is_a_valid_override_of_the_eyes_preset():
    from simgan.config import load_config
    from simgan.experiments.budgets import EYES_CPU_BUDGET

    cfg = load_config("eyes", list(domain_gap.CPU_BUDGET))
    assert cfg.model.refiner == "tiny" and cfg.train.steps == 2500
    assert set(EYES_CPU_BUDGET) <= set(domain_gap.CPU_BUDGET)


def test_domain_gap_refuses_negative_min_steps_before_any_work(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "domain-gap", "--min-steps", "-1"])
    assert e.value.code == 2
    assert "--min-steps: '-1' must be 0 or more" in capsys.readouterr().err


def test_bench_eyes_holdout_label_model_needs_a_weight_before_any_work(tmp_path):
    """--label-model without a positive loss.lambda_label: exit 2, the fix named, no output."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_eyes_holdout.py"
    out = tmp_path / "bench"
    argv = [sys.executable, str(script), "--out", str(out), "--label-model"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "add --set loss.lambda_label=W" in done.stderr
    assert not out.exists()
