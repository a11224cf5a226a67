"""Shared fixtures. Tests are CPU-only, seeded and fast; see pyproject for markers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

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
