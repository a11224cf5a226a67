"""`simgan eval all` and `eval realism` (issue 12, item 5): metrics.json is not replaced
silently, the figures say what they are, and both commands agree on the same files."""

from __future__ import annotations

import json

import pytest

from simgan.cli import main
from simgan.config import load_config
from simgan.data import write_dataset
from simgan.data.eyes import render_eyes
from simgan.report import build_report
from simgan.report.metrics_info import meaning
from simgan.training import train

FAST = ["--epochs", "1", "--min-steps", "5"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A two-step run on 200 synthetic and 64 real eyes of the same simulator (hard to tell
    apart, so the two-sample test is not pinned at 100%)."""
    d = tmp_path_factory.mktemp("item5")
    syn, labels = render_eyes(200, seed=0, size=(35, 55))
    real, _ = render_eyes(64, seed=7, size=(35, 55))
    s = write_dataset(d / "syn.h5", syn, labels)
    r = write_dataset(d / "real.h5", real)
    return train(load_config("tiny", ["train.steps=2"]), s, r, d / "runs", echo=False)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_eval_all_keeps_metrics_json_without_overwrite(run, capsys):
    args = ["eval", "all", str(run), "--count", "100", *FAST, "--json"]
    assert main(args) == 0
    capsys.readouterr()
    first = (run / "metrics.json").read_bytes()
    assert main([*args, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "metrics.json: already exists; pass --overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert (run / "metrics.json").read_bytes() == first
    assert main([*args, "--seed", "1", "--overwrite"]) == 0
    assert json.loads((run / "metrics.json").read_text())["seed"] == 1


def test_eval_all_counts_are_the_images_used(run, capsys):
    assert main(["eval", "all", str(run), "--count", "100", *FAST, "--json", "--overwrite"]) == 0
    out = _json(capsys)
    assert "count" not in out  # one count for two sets of different sizes misled
    assert out["real_count"] == 64 and out["synthetic_count"] == 100
    assert out["c2st_n_test"] == 64  # 32 real + 32 synthetic held out


def test_eval_all_and_eval_realism_agree_on_the_same_files(run, capsys, tmp_path):
    """Same files, same seed: the same two-sample-test figure, whatever each command's
    sample size (eval all reads --count 100 synthetic images, eval realism up to 5000)."""
    syn, real = run.parent.parent / "syn.h5", run.parent.parent / "real.h5"
    for seed in ("0", "3"):
        assert main(["eval", "all", str(run), "--count", "100", *FAST, "--seed", seed,
                     "--json", "--overwrite"]) == 0  # fmt: skip
        everything = _json(capsys)
        argv = ["eval", "realism", "--real", str(real), "--fake", str(syn), "--seed", seed]
        assert main([*argv, "--min-steps", "5", "--no-kid", "--json"]) == 0
        realism = _json(capsys)
        assert everything["c2st_accuracy_raw_synthetic"] == realism["c2st_accuracy"]
        assert everything["c2st_ci95_raw_synthetic"] == realism["ci95"]
        assert everything["c2st_n_test"] == realism["n_test"]


def test_eval_all_prints_name_value_meaning(run, capsys):
    assert main(["eval", "all", str(run), "--count", "100", *FAST, "--overwrite"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any("{" in line for line in lines)  # no raw dicts
    by_name = {line.split()[0]: line for line in lines if line.strip()}
    assert "indistinguishable" in by_name["c2st_accuracy_raw_synthetic"]
    assert "Wilson" in by_name["c2st_ci95_refined"]
    assert "pupil" in by_name["preservation.pupil_shift_px_mean"]
    assert by_name["real_count"].split()[1] == "64"
    assert lines[-1] == f"wrote {run}/metrics.json"


def test_meanings_of_eval_all_keys():
    raw = meaning("c2st_accuracy_raw_synthetic")
    assert "indistinguishable" in raw and "raw synthetic" in raw
    assert "trained on raw synthetic" not in raw  # the demo's metric, matched by suffix
    assert "refined" in meaning("c2st_accuracy_refined")
    for name in ("raw_synthetic", "refined"):
        assert "confidence interval" in meaning(f"c2st_ci95_{name}")
        assert "distance" in meaning(f"kid_{name}")
    assert meaning("real_count") and meaning("synthetic_count") and meaning("c2st_n_test")
    assert "classifier trained on raw" in meaning("accuracy_raw_synthetic")  # the demo's own
    assert meaning("c2st_epochs") != meaning("c2st_accuracy")


def test_report_gives_every_eval_all_row_a_meaning(run, capsys):
    assert main(["eval", "all", str(run), "--count", "100", *FAST, "--overwrite"]) == 0
    page = build_report(run)
    for key in ("c2st_ci95_raw_synthetic", "c2st_ci95_refined", "real_count", "c2st_n_test"):
        row = page.split(f"<code>{key}</code>", 1)[1].split("</tr>", 1)[0]
        assert row.rstrip().endswith("</td>") and not row.endswith("<td></td>"), key
