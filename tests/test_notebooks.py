"""The example notebooks: each .ipynb matches its plain-text twin (jupytext percent format),
and the quick walkthrough runs top to bottom in a real kernel, printing numbers and
showing its pictures. Needs the notebook extra; skips, saying why, where a kernel cannot
start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = ("walkthrough", "own_eyes")

jupytext = pytest.importorskip("jupytext", reason="needs the notebook extra")
nbformat = pytest.importorskip("nbformat", reason="needs the notebook extra")
nbclient = pytest.importorskip("nbclient", reason="needs the notebook extra")


def _sources(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_matches_its_text_twin(name):
    ipynb = jupytext.read(EXAMPLES / f"{name}.ipynb")
    text = jupytext.read(EXAMPLES / f"{name}.py")
    assert _sources(ipynb) == _sources(text), (
        f"examples/{name}.ipynb and .py differ: edit the .py, then run "
        f"jupytext --sync examples/{name}.py"
    )
    assert not any(c.get("outputs") for c in ipynb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs (jupytext --to ipynb writes none)"
    )


def _execute(name: str, timeout: int = 600):
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": EXAMPLES}}
    )
    try:
        client.execute()
    except (nbclient.exceptions.CellExecutionError, nbclient.exceptions.CellTimeoutError):
        raise
    except Exception as e:  # no kernel spec, no ipykernel, no zmq: the kernel did not start
        if client.kc is None or "kernel" in str(e).lower():
            pytest.skip(f"a Jupyter kernel could not start: {type(e).__name__}: {e}")
        raise
    return nb


def _stdout(nb) -> str:
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("name") == "stdout"
    )


def _pictures(nb) -> int:
    return sum(
        "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )


def test_the_quick_walkthrough_runs_and_prints_numbers():
    nb = _execute("walkthrough")
    out = _stdout(nb)
    scores = {
        name: float(v)
        for name, v in re.findall(
            r"^(raw synthetic|refined synthetic|real \(ceiling\))\s+(\S+)$", out, re.M
        )
    }
    assert sorted(scores) == ["raw synthetic", "real (ceiling)", "refined synthetic"], out
    assert all(0.0 <= v <= 1.0 for v in scores.values()), scores
    losses = re.search(r"adversarial (\S+) \+ self-regularization (\S+)", out)
    assert losses and all(float(v) >= 0 for v in losses.groups())
    # grids of the data, pretraining, training samples, curves, bars, final rows
    assert _pictures(nb) >= 9


@pytest.mark.slow
def test_the_own_eyes_notebook_runs_on_the_shared_sample(shared_data):
    nb = _execute("own_eyes")
    out = _stdout(nb)
    accuracies = re.findall(r"from your real eyes (\S+)%", out)
    assert len(accuracies) == 2 and all(0 <= float(a) <= 100 for a in accuracies), out
    assert '"step"' in out and _pictures(nb) >= 4
