"""Atomic file output: write to a temporary file beside the target, then rename.

A crash, Ctrl-C or error part-way leaves no half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from simgan.errors import SimganError


def check_output_path(path: str | os.PathLike, overwrite: bool) -> Path:
    """Return `path` as a Path after checking it may be written.

    Refuses an existing file unless `overwrite`, and a missing parent folder.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise SimganError(f"{path}: already exists; pass --overwrite to replace it")
    if path.is_dir():
        raise SimganError(f"{path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SimganError(f"{path}: folder {parent} does not exist; create it first")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to `path`, on error delete it."""
    path = check_output_path(path, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
