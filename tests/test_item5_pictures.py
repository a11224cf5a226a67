"""Pictures with words (issue 12, item 5): the training sample grids and the demo's
picture name their rows in a margin, and the images beside it are the plain grid's pixels;
the demo keeps its training run beside its datasets, not in a nested runs/."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image
from torch import nn

from simgan.cli import main
from simgan.data.dataset import DatasetReader
from simgan.data.digits import load_real_digits, render_digits
from simgan.experiments.digits_demo import class_rows, split_real_digits
from simgan.images import to_uint8
from simgan.viz import SAMPLE_ROWS, label_rows, make_grid, sample_grid
from test_demo import TINY


def _plain_sample_grid(refiner: nn.Module, fixed: torch.Tensor, ncol: int) -> np.ndarray:
    """The unlabelled grid sample_grid drew before it had labels (synthetic, refined, 4x diff)."""
    with torch.no_grad():
        syn, ref = to_uint8(fixed), to_uint8(refiner(fixed))
    diff = (syn.float() - ref.float()).abs().mul(4).clamp(0, 255).to(torch.uint8)
    rows = []
    for i in range(0, len(fixed), ncol):
        rows += [syn[i : i + ncol], ref[i : i + ncol], diff[i : i + ncol]]
    return make_grid(torch.cat(rows).permute(0, 2, 3, 1).numpy(), ncol=ncol)


def _ink_per_row(margin: np.ndarray, row_height: int, nrow: int, pad: int = 2) -> list[int]:
    """Dark pixels in the margin beside each grid row."""
    return [
        int((margin[pad + i * row_height : (i + 1) * row_height] < 128).sum()) for i in range(nrow)
    ]


def test_sample_grid_names_its_rows_beside_an_unchanged_grid():
    torch.manual_seed(0)
    refiner = nn.Conv2d(1, 1, 3, padding=1)
    fixed = torch.rand(16, 1, 35, 55) * 2 - 1
    grid = sample_grid(refiner, fixed, ncol=8)
    plain = _plain_sample_grid(refiner, fixed, 8)
    assert grid.shape[0] == plain.shape[0] and grid.shape[1] > plain.shape[1]
    margin = grid.shape[1] - plain.shape[1]
    assert np.array_equal(grid[:, margin:], plain)  # the images, pixel for pixel
    ink = _ink_per_row(grid[:, :margin, 0], 35 + 2, 6)
    assert all(n > 0 for n in ink), ink  # a word beside each of the 6 rows
    assert ink[0] == ink[3] and ink[2] == ink[5] and ink[0] != ink[2]  # labels repeat
    assert SAMPLE_ROWS == ("synthetic", "refined", "4x |difference|")


def test_label_rows_on_tiny_and_colour_images():
    tiny = make_grid(np.zeros((6, 8, 8, 1), np.uint8), ncol=2)  # 3 rows of 8x8 digits
    out = label_rows(tiny, ("a", "b", "c"), 10)
    assert np.array_equal(out[:, -tiny.shape[1] :], tiny)
    assert all(n > 0 for n in _ink_per_row(out[:, : out.shape[1] - tiny.shape[1], 0], 10, 3))
    rgb = make_grid(np.zeros((2, 16, 16, 3), np.uint8), ncol=2)
    out = label_rows(rgb, ("real",), 18)
    assert out.shape[2] == 3 and np.array_equal(out[:, -rgb.shape[1] :], rgb)


def test_demo_picture_has_row_names_and_the_run_is_not_nested(tmp_path, capsys, quick_cnn):
    args = ["demo", "--out", str(tmp_path), "--count", "40"]
    for o in TINY:
        args += ["--set", o]
    assert main(args) == 0
    out = capsys.readouterr().out
    (folder,) = tmp_path.iterdir()
    # the training run sits beside the datasets: RUNS/00000-demo-digits/00000-digits
    assert not (folder / "runs").exists()
    runs = [p for p in folder.iterdir() if p.is_dir()]
    assert [p.name for p in runs] == ["00000-digits"]
    assert (runs[0] / "checkpoints").is_dir() and (runs[0] / "config.yaml").is_file()
    results = json.loads((folder / "results.json").read_text())
    assert results["run"] == str(runs[0])
    assert str(runs[0] / "samples") in out and "/runs/" not in out.split(str(tmp_path))[-1]
    # the picture: a margin of row names, then the plain synthetic | refined | real grid,
    # PER_CLASS digits of every class (class_rows), at scale 6
    synthetic, labels = render_digits(40, seed=0)
    with DatasetReader(folder / "refined.h5") as r:
        refined = r.read(labels=False)[0]
    real, real_labels = load_real_digits()
    unlabeled = split_real_digits(len(real))[0]
    rows = class_rows(synthetic, refined, labels, real[unlabeled], real_labels[unlabeled])
    plain = make_grid(np.concatenate(rows), ncol=len(rows[0]))
    picture = np.asarray(Image.open(folder / "synthetic_refined_real.png"))[::6, ::6, None]
    margin = picture.shape[1] - plain.shape[1]
    assert margin > 0 and picture.shape[0] == plain.shape[0]
    assert np.array_equal(picture[:, margin:], plain)
    assert all(n > 0 for n in _ink_per_row(picture[:, :margin, 0], 10, 3))
