"""`simgan bench domain-gap --estimator-seeds K`: K estimators per arm, mean +- spread."""

from __future__ import annotations

import json

import pytest

from simgan.cli import main
from simgan.errors import SimganError
from simgan.experiments import domain_gap_benchmark as domain_gap

TINY = ["--seeds", "0", "--count", "32", "--target-count", "32", "--epochs", "1"]
TINY += ["--min-steps", "0", "--width", "0.1", "--set", "train.batch_size=4"]
for _o in ("train.steps=2", "train.pretrain_refiner_steps=2"):
    TINY += ["--set", _o]
TINY += ["--set", "train.pretrain_discriminator_steps=1", "--set", "log.progress=false"]


def test_domain_gap_with_three_estimator_seeds_reports_each_arms_spread(capsys):
    assert main(["bench", "domain-gap", *TINY, "--estimator-seeds", "3", "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["estimator"]["estimator_seeds_per_arm"] == 3
    (row,) = r["per_seed"]
    for arm in ("synthetic", "refined", "oracle"):
        errs = row[arm]["per_estimator"]
        assert len(errs) == 3 and row[arm]["estimator_seeds"] == [0, 1000, 2000]
        assert row[arm]["mean_angular_error_deg"] == pytest.approx(sum(errs) / 3)
        assert row[arm]["std_over_estimators"] > 0  # three estimators, three answers
        assert r["estimator_spread_deg"][arm]["mean"] == pytest.approx(
            row[arm]["std_over_estimators"]
        )
    gap = [
        s - o
        for s, o in zip(
            row["synthetic"]["per_estimator"], row["oracle"]["per_estimator"], strict=True
        )
    ]
    assert row["gap_deg"]["mean"] == pytest.approx(sum(gap) / 3) and row["gap_deg"]["n"] == 3
    assert r["gap_deg"]["mean"] == pytest.approx(row["gap_deg"]["mean"])
    text = domain_gap.format_summary(r)
    assert "estimator seeds: +-" in text and "gap (raw - labelled target)" in text


def test_estimator_seed_count_is_checked_before_any_work(capsys):
    with pytest.raises(SimganError, match="at least 1"):
        domain_gap.run_bench_domain_gap(seeds=(0,), n_estimators=0)
    with pytest.raises(SystemExit):
        main(["bench", "domain-gap", "--estimator-seeds", "0"])
    assert domain_gap.estimator_seeds(2, 3) == (2, 1002, 2002)
