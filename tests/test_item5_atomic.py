"""Atomic output: a folder given as the output, and the temporaries a killed writer leaves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simgan.atomic import atomic_path, check_output_path, temporary_prefix
from simgan.cli import main
from simgan.data import write_dataset
from simgan.errors import SimganError


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_as_output_is_named_a_folder(tmp_path, overwrite):
    """A folder is refused as a folder, not as a file that already exists."""
    with pytest.raises(SimganError, match="is a folder; give a file name") as e:
        check_output_path(tmp_path, overwrite=overwrite)
    assert "--overwrite" not in str(e.value)


def test_cli_folder_as_output(tmp_path, capsys):
    real = write_dataset(tmp_path / "real.h5", np.zeros((4, 8, 8, 1), np.uint8))
    assert main(["data", "preview", str(real), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "already exists" not in err


def _dead_pid() -> int:
    """The process id of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_write_removes_temporaries_of_dead_writers_only(tmp_path):
    target = tmp_path / "out.txt"
    prefix, dead = temporary_prefix(target), _dead_pid()
    assert prefix.startswith(".out.txt.") and prefix.endswith("-")
    stale = tmp_path / f"{prefix}{dead}.abcd_123.tmp"
    live = tmp_path / f"{prefix}{os.getpid()}.zzzz9999.tmp"  # this process: still writing
    other = tmp_path / f"{temporary_prefix('other.txt')}{dead}.abcd_123.tmp"  # another target
    remote = tmp_path / f".out.txt.elsewhere-{dead}.abcd_123.tmp"  # another machine's
    for p in (stale, live, other, remote):
        p.write_text("partial")
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(f"{prefix}{os.getpid()}.")  # carries host and pid
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert not stale.exists()
    assert live.exists() and other.exists() and remote.exists()


def test_kill_9_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    """SIGKILL cannot be caught: the writer's temporary stays until the next write."""
    if os.name != "posix":
        pytest.skip("SIGKILL is POSIX")
    target = tmp_path / "refined.txt"
    code = textwrap.dedent(
        f"""
        import os, signal
        from simgan.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].name.startswith(".refined.txt.")
    assert not target.exists()
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["refined.txt"]
