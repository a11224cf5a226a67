"""The README's Python example runs as written and prints the figures it says it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_example() -> str:
    section = README.read_text().split("## Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README.md: no ```python block in the Python section"
    return match.group(1)


def test_readme_python_example_runs(tmp_path):
    code = _python_example()
    assert "import simgan" in code
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    scores = dict(
        re.findall(r"^(raw|refined): two-sample test accuracy ([0-9.]+)$", done.stdout, re.M)
    )
    assert set(scores) == {"raw", "refined"}, done.stdout[-2000:]
    assert all(0.0 <= float(v) <= 1.0 for v in scores.values())
    assert (tmp_path / "runs" / "00000-digits" / "checkpoints" / "last.pt").is_file()
