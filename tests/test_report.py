"""`simgan report`: a self-contained HTML page per run, checked as text and in a real browser.

The browser test needs Debian's chromium and chromium-driver (/usr/bin/chromium,
/usr/bin/chromedriver; or set CHROMIUM / CHROMEDRIVER) and selenium; it skips where any is
missing. Set SIMGAN_REPORT_SCREENSHOT=docs/images/report.png to refresh the README picture.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from simgan.cli import main
from simgan.config import dump_yaml, load_config
from simgan.data.dataset import write_dataset
from simgan.errors import SimganError
from simgan.report import SECTIONS, build_report, write_report
from simgan.report.metrics_info import flatten, meaning
from simgan.report.page import pick_steps
from simgan.viz import make_grid, save_png

METRICS = {
    "realism": {
        "raw": {"c2st_accuracy": 0.98, "ci95": [0.96, 0.99], "kid": 0.2},
        "refined": {"c2st_accuracy": 0.62, "ci95": [0.57, 0.67], "kid": 0.03},
    },
    "preservation": {"pupil_shift_px_mean": 0.41, "gaze_shift_deg_mean": None},
    "gap_closed": 0.55,
}


def make_run(folder: Path, steps: int = 6, metrics: dict | None = None) -> Path:
    """A run folder shaped like simgan.training's, without training (seconds, no torch)."""
    rng = np.random.default_rng(0)
    (folder / "samples").mkdir(parents=True)
    cfg = load_config("tiny", ["train.batch_size=16", "loss.lambda_reg=0.25"])
    (folder / "config.yaml").write_text(dump_yaml(cfg))
    rows = []
    for i, step in enumerate(range(10, 10 * (steps * 4) + 1, 10)):
        phase = (
            "pretrain_refiner" if i < 3 else "pretrain_discriminator" if i < 5 else "adversarial"
        )
        row = {"step": step, "phase": phase, "refiner_loss": 1 / (i + 1), "refiner_reg": 0.1}
        if phase == "adversarial":
            row |= {"d_loss": 1.3, "d_acc_real": 0.6, "d_acc_refined": 0.5, "refiner_adv": 0.7}
        rows.append(row)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for k in range(steps):
        grid = make_grid(rng.integers(0, 256, (24, 16, 16, 1), dtype=np.uint8), ncol=8)
        save_png(grid, folder / "samples" / f"step_{(k + 1) * 50:07d}.png", scale=4)
    save_png(make_grid(np.full((8, 16, 16, 1), 200, np.uint8)), folder / "samples" / "real.png")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def img_sources(page: str) -> list[str]:
    return re.findall(r'<img[^>]* src="([^"]+)"', page)


def test_report_has_every_section_and_is_self_contained(tmp_path):
    page = build_report(make_run(tmp_path / "run", metrics=METRICS))
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
    srcs = img_sources(page)
    # 2 curves + 4 of the 6 sample steps + the real grid, all embedded PNGs
    assert len(srcs) == 7
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside
    # every metric with its value and meaning; non-default config values marked
    assert "realism.refined.c2st_accuracy" in page and "0.62" in page and "[0.57, 0.67]" in page
    assert "50% = indistinguishable" in page and "n/a" in page
    assert re.search(r"class=changed><td><code>loss.lambda_reg</code></td><td>0.25", page)
    assert "step 300" in page and "step 50" in page  # first and last sample steps


def test_report_without_metrics_json_says_how_to_compute(tmp_path):
    run = make_run(tmp_path / "run", steps=2)
    page = build_report(run)
    assert "Not computed yet" in page and "simgan eval all" in page
    assert len(img_sources(page)) == 2 + 2 + 1


def test_report_real_grid_from_dataset_file(tmp_path):
    real = write_dataset(tmp_path / "real.h5", np.zeros((5, 12, 20, 1), np.uint8))
    page = build_report(make_run(tmp_path / "run", steps=1), real=real)
    # one row-count of metrics is all pretraining: the loss curve only, no D-accuracy curve
    assert "real.h5" in page and len(img_sources(page)) == 1 + 1 + 2


def test_pick_steps_spreads_first_to_last():
    paths = [Path(f"step_{i:07d}.png") for i in range(10)]
    assert pick_steps(paths, 4) == [paths[0], paths[3], paths[6], paths[9]]
    assert pick_steps(paths[:3], 4) == paths[:3]


def test_metric_meanings_and_flatten():
    flat = dict(flatten(METRICS))
    assert flat["realism.raw.ci95"] == [0.96, 0.99]
    assert "indistinguishable" in meaning("realism.raw.c2st_accuracy")
    assert "gap" in meaning("gap_closed") and meaning("something_unknown") == ""


def test_cli_report_atomic_and_overwrite(tmp_path, capsys):
    run = make_run(tmp_path / "run", steps=2)
    out = tmp_path / "report.html"
    assert main(["report", str(run), "-o", str(out)]) == 0
    first = out.read_text()
    assert first.startswith("<!DOCTYPE html>") and first.rstrip().endswith("</html>")
    assert main(["report", str(run), "-o", str(out)]) == 2  # exists, no --overwrite
    assert "overwrite" in capsys.readouterr().err
    assert main(["report", str(run), "-o", str(out), "--overwrite"]) == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("report")] == ["report.html"]


def test_report_errors_name_the_problem(tmp_path):
    with pytest.raises(SimganError, match="not a run folder"):
        build_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SimganError, match="config.yaml or metrics.jsonl"):
        write_report(tmp_path / "empty", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
    run = make_run(tmp_path / "run", steps=1)
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(SimganError, match="metrics.json"):
        build_report(run)


def test_report_renders_in_headless_chromium(tmp_path, chromium):
    from selenium.webdriver.common.by import By

    out = write_report(make_run(tmp_path / "run", metrics=METRICS), tmp_path / "report.html")
    driver = chromium("1200,3000")
    driver.get(out.resolve().as_uri())
    for sid in SECTIONS:
        el = driver.find_element(By.ID, sid)
        assert el.is_displayed() and el.size["height"] > 40, sid
    imgs = driver.find_elements(By.TAG_NAME, "img")
    assert len(imgs) == 7
    for img in imgs:  # every embedded PNG decoded and laid out
        assert driver.execute_script("return arguments[0].naturalWidth", img) > 0
        assert img.size["width"] > 50
    rows = driver.find_elements(By.CSS_SELECTOR, "#metrics tr")
    assert len(rows) == 1 + len(flatten(METRICS))
    png = driver.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    if target := os.environ.get("SIMGAN_REPORT_SCREENSHOT"):
        Path(target).write_bytes(png)
