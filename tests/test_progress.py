"""Progress that fits where it goes: a tqdm bar on a terminal, plain lines in a file or a pipe,
and the closing 'done:' line on a line of its own."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from simgan.config import load_config
from simgan.training import monitor, train
from simgan.training.monitor import format_duration, images_until

LINE = re.compile(
    r"step (\d+)/(\d+) (pretrain_refiner|pretrain_discriminator|adversarial)  "
    r"(?:[a-z_]+ -?\d+\.\d+ ?)+  \d+ img/s  (?:\d+[hms]\S* left|done in \d+[hms]\S*)"
)
SHOWN = ["log.progress=true", "log.sample_every=100"]


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, as stdout and stderr share one on a console."""

    def isatty(self) -> bool:
        return True


def test_plain_lines_when_stderr_is_not_a_terminal(domains, tmp_path, capsys, monkeypatch):
    s, r = domains
    monkeypatch.setattr(monitor, "PLAIN_EVERY_S", 0.0)  # a line at every log row
    train(load_config("tiny", SHOWN), s, r, tmp_path / "runs")
    out, err = capsys.readouterr()
    assert "\r" not in out + err  # no bar redraws
    lines = err.splitlines()
    assert all(LINE.fullmatch(line) for line in lines), lines
    assert [int(LINE.fullmatch(line)[1]) for line in lines] == list(range(1, 9))
    assert lines[0].startswith("step 1/8 pretrain_refiner  refiner_loss ")
    assert "d_loss" in lines[2] and "d_acc_real" in lines[2] and "refiner_loss" not in lines[2]
    assert lines[-1].startswith("step 8/8 adversarial") and "done in" in lines[-1]
    assert "left" in lines[0]
    assert out.splitlines()[-1].startswith("done: 8 steps")


def test_plain_lines_are_periodic(domains, tmp_path, capsys):
    """At most one line per PLAIN_EVERY_S, besides the first row, phase starts and the end:
    a run of seconds gets exactly those."""
    s, r = domains
    train(load_config("tiny", SHOWN), s, r, tmp_path / "runs")
    steps = [int(LINE.fullmatch(line)[1]) for line in capsys.readouterr().err.splitlines()]
    assert steps == [1, 3, 5, 8]


def test_nothing_on_stderr_without_progress(domains, tmp_path, capsys):
    s, r = domains
    train(load_config("tiny"), s, r, tmp_path / "a")  # the tiny preset: progress false
    train(load_config("tiny", SHOWN), s, r, tmp_path / "b", echo=False)
    assert capsys.readouterr().err == ""


def test_bar_on_a_terminal_ends_before_done(domains, tmp_path, monkeypatch):
    s, r = domains
    console = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", console)
    monkeypatch.setattr(sys, "stderr", console)
    train(load_config("tiny", SHOWN), s, r, tmp_path / "runs")
    text = console.getvalue()
    assert "\r" in text and "8/8" in text  # the tqdm bar, redrawn in place
    assert not LINE.search(text)  # and no plain lines
    assert "\ndone: 8 steps" in text  # on a line of its own, not after the bar's last redraw
    bar_end = text.rindex("8/8")
    assert text.index("\n", bar_end) < text.index("done:")


def test_a_run_logged_into_a_file_reads_as_lines(domains, tmp_path):
    """`simgan train ... > file 2>&1`: plain lines, no carriage returns."""
    s, r = domains
    log = tmp_path / "train.log"
    cmd = [sys.executable, "-m", "simgan", "train", "--synthetic", str(s), "--real", str(r),
           "--out", str(tmp_path / "runs"), "--config", "tiny"]  # fmt: skip
    for o in [*SHOWN, "train.steps=40"]:
        cmd += ["--set", o]
    with open(log, "w") as f:
        done = subprocess.run(
            cmd, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"}
        )
    assert done.returncode == 0
    text = log.read_text()
    assert "\r" not in text
    progress = [line for line in text.splitlines() if line.startswith("step ")]
    assert progress and all(LINE.fullmatch(line) for line in progress), progress
    assert progress[-1].startswith("step 44/44 adversarial")
    assert any(line.startswith("done: 44 steps") for line in text.splitlines())
    assert len(text) < 2000


def test_time_left_counts_the_images_each_phase_takes():
    cfg = load_config("tiny")  # batch 8; 2 + 2 pretrain steps, 4 adversarial of K_g=2, K_d=1
    assert images_until(cfg, 0) == 0
    assert images_until(cfg, 2) == 2 * 8
    assert images_until(cfg, 4) == 2 * 8 + 2 * 16
    assert images_until(cfg, 8) == 2 * 8 + 2 * 16 + 4 * 8 * 4
    assert [format_duration(t) for t in (0, 45.4, 130, 3900, -1)] == [
        "0s",
        "45s",
        "2m10s",
        "1h05m",
        "0s",
    ]
