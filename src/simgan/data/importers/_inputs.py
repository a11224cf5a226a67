"""Finding the inputs: folder and file checks, natural name order, a progress bar."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from simgan.errors import SimganError


def natural_key(path: Path) -> list[Any]:
    """Sort '2.jpg' before '10.jpg': digits compare as numbers."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def require_dir(path: str | os.PathLike, what: str) -> Path:
    """`path` as a Path; SimganError unless it is a folder (`what`: what it should hold)."""
    path = Path(path)
    if not path.exists():
        raise SimganError(f"{path}: no such folder; give the folder holding the {what}")
    if not path.is_dir():
        raise SimganError(f"{path}: is a file, expected the folder holding the {what}")
    return path


def require_file(path: str | os.PathLike, what: str) -> Path:
    """`path` as a Path; SimganError unless it is a file (`what`: what it should be)."""
    path = Path(path)
    if not path.exists():
        raise SimganError(f"{path}: no such file; give the path of the {what}")
    if path.is_dir():
        raise SimganError(f"{path}: is a folder, expected the {what}")
    return path


def progress(iterable: Iterable, enabled: bool, desc: str, total: int | None = None) -> Iterator:
    """A tqdm bar on stderr when enabled; the plain iterable otherwise."""
    if not enabled:
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, unit="file", leave=False)
