"""Atomic file output: write to a temporary file beside the target, then rename.

A crash, Ctrl-C or error part-way leaves no half-written file under the final name. The
temporary file is named `.NAME.HOST-PID.XXXXXXXX.tmp` after the writing machine and process;
a process killed outright (kill -9) cannot delete its own, so the next write to the same
target from the same machine removes the temporaries of its processes that no longer exist.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from simgan.errors import SimganError


def check_output_path(path: str | os.PathLike, overwrite: bool) -> Path:
    """Return `path` as a Path after checking it may be written.

    Refuses a folder (whatever `overwrite`), an existing file unless `overwrite`, and a
    missing parent folder.
    """
    path = Path(path)
    if path.is_dir():
        raise SimganError(f"{path}: is a folder; give a file name (e.g. {path / 'out.h5'})")
    if path.exists() and not overwrite:
        raise SimganError(f"{path}: already exists; pass --overwrite to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SimganError(f"{path}: folder {parent} does not exist; create it first")
    return path


def _host() -> str:
    """This machine's name as it goes into temporary names (short, letters, digits, -)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname())[:20].strip("-") or "host"


def temporary_prefix(path: str | os.PathLike) -> str:
    """How this process's temporaries of `path` begin, without the PID: `.NAME.HOST-`."""
    return f".{Path(path).name}.{_host()}-"


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (True where that cannot be told, so nothing is removed)."""
    if os.name != "posix" or pid <= 0:
        return True  # os.kill(pid, 0) would not be a harmless probe here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporaries of `path` left by writers that are gone; returns them.

    Only names this module makes on this machine (`.NAME.HOST-PID.XXXXXXXX.tmp`) whose PID
    no longer runs are removed: a live writer's file, another machine's (on a shared
    folder) or any other file is left alone.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    prefix = temporary_prefix(path)
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)\.[a-z0-9_]+\.tmp")
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            m = pattern.fullmatch(entry.name) if entry.name.startswith(prefix) else None
            if m and not _pid_alive(int(m[1])) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to `path`, on error delete it.

    SIGKILL cannot be caught, so a killed writer leaves its temporary behind; this call first
    removes those of `path` whose process is gone (remove_stale_temporaries)."""
    path = check_output_path(path, overwrite)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f"{temporary_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent or "."
    )
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
