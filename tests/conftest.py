"""Shared fixtures. Tests are CPU-only, seeded and fast; see pyproject for markers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from simgan.data import write_dataset
from simgan.evaluate import digit_classifiers

# ../shared/data beside the project's root: present in development and CI, absent on a
# user's machine, where the tests that need it skip.
SHARED_DATA = Path(
    os.environ.get(
        "SIMGAN_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


@pytest.fixture
def shared_data() -> Path:
    """Path of ../shared/data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


# Debian's chromium and chromium-driver; the browser tests skip where either is missing.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture
def chromium(tmp_path):
    """Factory: chromium(window="W,H") -> a headless Chrome driver (selenium), quit at the
    test's end. Skips where selenium, chromium or chromedriver is missing."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip(
            f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        )
    drivers = []

    def start(window: str = "1200,3000"):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-component-update",
            "--disable-dev-shm-usage",
            f"--window-size={window}",
            f"--user-data-dir={tmp_path / f'chromium{len(drivers)}'}",
        ):
            opts.add_argument(flag)
        drivers.append(webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts))
        return drivers[-1]

    yield start
    for driver in drivers:
        driver.quit()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _torch_threads():
    """One torch thread (tiny test models gain nothing from more, and on a shared machine a
    second thread waiting for a busy core slows them 5-30x) and a fixed seed per test."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield


@pytest.fixture
def domains(tmp_path):
    """A tiny synthetic (40, labelled) and real (30) pair of 8x8 dataset files."""
    rng = np.random.default_rng(0)
    syn = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    real = np.clip(syn[:30].astype(int) // 2 + 60, 0, 255).astype(np.uint8)
    s = write_dataset(tmp_path / "syn.h5", syn, {"label": np.arange(40) % 10})
    r = write_dataset(tmp_path / "real.h5", real)
    return s, r


@pytest.fixture
def quick_cnn(monkeypatch):
    """Every DigitCNN trained for 200 steps instead of CNN_STEPS (98% on real digits
    already): the end-to-end digits tests check the pipeline, not the CNN's last points."""
    monkeypatch.setattr(digit_classifiers, "CNN_STEPS", 200)
