"""Export: ONNX and TorchScript round trips, load_any_refiner, and clean failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simgan.cli import main
from simgan.config import load_config, to_dict
from simgan.errors import SimganError
from simgan.export import compare_outputs, export_refiner
from simgan.models import build_refiner
from simgan.refine import load_any_refiner, refine_array
from simgan.training.checkpoint import save_checkpoint

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run folder whose last checkpoint holds a small, non-identity refiner (2 channels)."""
    cfg = load_config("tiny")
    torch.manual_seed(1)
    refiner = build_refiner(cfg.model.refiner, 2)
    with torch.no_grad():  # push the weights away from their init so outputs are not ~tanh(0)
        for p in refiner.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    root = tmp_path_factory.mktemp("export")
    ckpt = {
        "config": to_dict(cfg),
        "step": 1,
        "refiner": refiner.state_dict(),
        "data": {"real": {"shape": [2, 8, 8]}},
    }
    (root / "run" / "checkpoints").mkdir(parents=True)
    save_checkpoint(ckpt, root / "run" / "checkpoints" / "last.pt")
    return root / "run", refiner


@pytest.mark.parametrize("fmt,name", [("onnx", "r.onnx"), ("torchscript", "r.pt")])
def test_round_trip_matches_pytorch(run, tmp_path, capsys, fmt, name):
    run_dir, refiner = run
    out = tmp_path / name
    assert main(["export", "--run", str(run_dir), "--format", fmt, "-o", str(out)]) == 0
    assert "max |PyTorch - exported|" in capsys.readouterr().out
    loaded = load_any_refiner(out)
    assert loaded.kind == fmt and loaded.channels == 2
    # two sizes and two batch sizes through the same file: batch, height and width are dynamic
    diff = compare_outputs(refiner.eval(), loaded, 2, sizes=((8, 8), (13, 21)), batch=3, seed=5)
    assert diff < 1e-4
    assert compare_outputs(refiner, loaded, 2, sizes=((30, 17),), batch=1, seed=6) < 1e-4
    # uint8 NHWC path: identical to simgan.refine.refine_array
    images = np.random.default_rng(0).integers(0, 256, (5, 11, 9, 2), dtype=np.uint8)
    expected = refine_array(refiner, images)
    assert np.abs(expected.astype(int) - images).max() > 0  # the refiner does change images
    assert np.array_equal(loaded.refine(images, batch_size=2), expected)


def test_load_any_refiner_run_and_checkpoint(run):
    run_dir, refiner = run
    images = np.random.default_rng(1).integers(0, 256, (4, 8, 8, 2), dtype=np.uint8)
    for src in (run_dir, run_dir / "checkpoints" / "last.pt"):
        model = load_any_refiner(src)
        assert model.kind == "pytorch" and model.channels == 2
        assert np.array_equal(model.refine(images), refine_array(refiner, images))
    with pytest.raises(SimganError, match="channel"):
        model.refine(images[..., :1])


def test_export_refuses_existing_file_unless_overwrite(run, tmp_path):
    run_dir, refiner = run
    out = tmp_path / "r.onnx"
    out.write_text("keep me")
    with pytest.raises(SimganError, match="already exists"):
        export_refiner(refiner, out, channels=2)
    assert out.read_text() == "keep me"
    path, diff = export_refiner(refiner, out, channels=2, overwrite=True)
    assert path == out and diff < 1e-4 and load_any_refiner(out).kind == "onnx"


def test_bad_run_or_format_exits_2_and_writes_nothing(run, tmp_path, capsys):
    run_dir, _ = run
    out = tmp_path / "r.onnx"
    assert main(["export", "--run", str(tmp_path / "missing"), "-o", str(out)]) == 2
    assert "no such run folder" in capsys.readouterr().err
    assert main(["export", "--run", str(run_dir), "-o", str(tmp_path / "r.bin")]) == 2
    assert "--format" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["export", "--run", str(run_dir), "--format", "tflite", "-o", str(out)])
    assert e.value.code == 2
    assert list(tmp_path.iterdir()) == []  # no output, no temporary left behind


def test_load_any_refiner_rejects_junk(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(SimganError, match="not a loadable ONNX"):
        load_any_refiner(junk)
    with pytest.raises(SimganError, match="no such"):
        load_any_refiner(tmp_path / "absent.pt")
