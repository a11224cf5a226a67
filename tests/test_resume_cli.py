"""`simgan train --resume RUN` alone continues a run from its own config and data: after a
kill -9, with --set on top, with the data moved; metrics.jsonl keeps every step once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from simgan.cli import main
from simgan.config import dump_yaml, load_config
from simgan.training import read_metrics, train
from simgan.training.checkpoint import load_checkpoint
from simgan.training.run_dir import drop_metrics_after


def simgan_train(*args: str) -> list[str]:
    """The argv of `python -m simgan train ARGS` (a separate process, as a user runs it)."""
    return [sys.executable, "-m", "simgan", "train", *args]


def train_cli(s, r, out, *sets: str) -> int:
    args = ["train", "--synthetic", str(s), "--real", str(r), "--out", str(out)]
    args += ["--config", "tiny", "--quiet"]
    for o in sets:
        args += ["--set", o]
    return main(args)


def steps_of(run) -> list[int]:
    return [row["step"] for row in read_metrics(run)]


def test_resume_alone_after_kill_9(domains, tmp_path):
    s, r = domains
    runs = tmp_path / "runs"
    sets = ["train.steps=150", "log.checkpoint_every=10", "log.sample_every=1000"]
    first = simgan_train("--synthetic", str(s), "--real", str(r), "--out", str(runs),
                         "--config", "tiny", *(a for o in sets for a in ("--set", o)))  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(first, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 120
            while not list(runs.glob("*/checkpoints/step_*.pt")):
                assert proc.poll() is None, (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "no checkpoint within 2 minutes"
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
    (run,) = runs.iterdir()
    killed_at = load_checkpoint(run / "checkpoints" / "last.pt")["step"]
    assert 10 <= killed_at < 154

    # from another folder, nothing but the run: its own config and (absolute) data paths
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        simgan_train("--resume", str(run)),
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"resumed at step {killed_at}" in done.stdout
    assert "done: 154 steps" in done.stdout
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["step"] == 154 and ckpt["config"]["model"]["discriminator"] == "tiny"
    assert steps_of(run) == list(range(1, 155))  # every step once, in order


def test_resume_takes_set_on_top_of_the_run_config(domains, tmp_path, capsys):
    s, r = domains
    assert train_cli(s, r, tmp_path / "runs", "train.steps=2") == 0
    (run,) = (tmp_path / "runs").iterdir()
    # a longer run and another log interval: allowed; the rest stays the run's own
    assert main(["train", "--resume", str(run), "--quiet", "--set", "train.steps=5",
                 "--set", "log.sample_every=3"]) == 0  # fmt: skip
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["step"] == 9 and ckpt["config"]["train"]["steps"] == 5
    assert ckpt["config"]["model"]["refiner"] == "tiny" and ckpt["config"]["name"] == "tiny"
    assert steps_of(run) == list(range(1, 10))
    capsys.readouterr()
    # what was learned may not change: refused, naming the key
    assert main(["train", "--resume", str(run), "--set", "loss.lambda_reg=3"]) == 2
    err = capsys.readouterr().err
    assert "another config" in err and "loss.lambda_reg" in err
    assert main(["train", "--resume", str(run), "--set", "train.nope=1"]) == 2
    assert "unknown key" in capsys.readouterr().err


def test_explicit_config_on_resume_means_that_config(domains, tmp_path, capsys):
    s, r = domains
    assert train_cli(s, r, tmp_path / "runs", "train.steps=2") == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert main(["train", "--resume", str(run), "--config", "tiny", "--quiet"]) == 0
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 8  # tiny: 4 + 4 steps
    other = tmp_path / "other.yaml"
    other.write_text(dump_yaml(load_config("tiny", ["loss.lambda_reg=3"])))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--config", str(other)]) == 2
    assert "loss.lambda_reg: 0.5 -> 3.0" in capsys.readouterr().err


def test_moved_data_names_the_option_to_pass(domains, tmp_path, capsys):
    s, r = domains
    assert train_cli(s, r, tmp_path / "runs", "train.steps=2") == 0
    (run,) = (tmp_path / "runs").iterdir()
    moved = s.rename(tmp_path / "moved.h5")
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(s) in err and "--synthetic" in err
    assert main(["train", "--resume", str(run), "--synthetic", str(moved)]) == 0
    assert "already at step 6, nothing to train" in capsys.readouterr().out
    assert main(["train", "--resume", str(run), "--synthetic", str(moved), "--quiet",
                 "--set", "train.steps=4"]) == 0  # fmt: skip
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 8


def test_new_run_needs_both_datasets(domains, tmp_path, capsys):
    s, _ = domains
    assert main(["train", "--synthetic", str(s), "--config", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "--real" in err and "--resume" in err
    assert not (tmp_path / "runs").exists()


def test_resume_drops_the_rows_written_after_its_checkpoint(domains, tmp_path):
    """Resuming from step 4 of a run that reached step 8 replays steps 5..8: their old rows
    go (and a row torn by a crash), so each step appears once."""
    s, r = domains
    run = train(load_config("tiny"), s, r, tmp_path / "runs", echo=False)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 9, "phase": "adv')  # a crash in the middle of a row
    resumed = train(
        load_config("tiny"), s, r, resume=run / "checkpoints" / "step_0000004.pt", echo=False
    )
    assert resumed == run
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 9))
    assert "dropped 5 line(s)" in (run / "log.txt").read_text()
    assert not list(run.glob(".metrics.jsonl*"))  # no temporary file left behind


def test_drop_metrics_after(tmp_path):
    rows = [{"step": k, "d_loss": 1.0} for k in (1, 2, 3, 4)]
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "not json\n")
    assert drop_metrics_after(tmp_path, 2) == 3
    assert path.read_text() == "".join(json.dumps(row) + "\n" for row in rows[:2])
    before = path.stat().st_mtime_ns
    assert drop_metrics_after(tmp_path, 5) == 0  # nothing to drop: the file is not rewritten
    assert path.stat().st_mtime_ns == before
    assert drop_metrics_after(tmp_path / "none", 1) == 0


def test_dry_run_of_a_resume_refuses_what_the_resume_would(domains, tmp_path, capsys):
    s, r = domains
    assert (
        main(
            [
                "train",
                "--synthetic",
                str(s),
                "--real",
                str(r),
                "--out",
                str(tmp_path / "runs"),
                "--config",
                "tiny",
                "--quiet",
            ]
        )
        == 0
    )
    run = tmp_path / "runs" / "00000-tiny"
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--set", "loss.lambda_reg=3", "--dry-run"]) == 2
    assert "another config" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--set", "train.steps=9", "--dry-run"]) == 0
