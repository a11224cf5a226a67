"""`simgan bench speed`: FLOP counting, the baseline port, and the JSON it prints."""

from __future__ import annotations

import json

import numpy as np
import torch

from simgan.cli import main
from simgan.models import build_discriminator, build_refiner
from simgan.speed.baseline import NaiveDiscriminator, NaiveRefiner, NaiveSimGAN
from simgan.speed.flops import adversarial_step_flops, conv_flops_per_image


def test_conv_flops_by_hand():
    # eye refiner on 35x55 (1925 pixels, 'same' convs): stem 1->64 3x3, 8 convs 64->64 3x3,
    # head 64->1 1x1; 2 FLOPs per multiply-add
    px = 35 * 55
    expected = 2 * px * (1 * 64 * 9 + 8 * 64 * 64 * 9 + 64 * 1)
    assert conv_flops_per_image(build_refiner("eyes", 1), 1, 35, 55) == expected
    # eye D: 18x28 after the first stride-2 conv, 9x14 after the second
    d = 2 * (504 * 96 * 9 + 126 * (96 * 64 * 9 + 64 * 32 * 9 + 32 * 32 + 32 * 2))
    assert conv_flops_per_image(build_discriminator("eyes", 1), 1, 35, 55) == d


def test_step_flops_formula():
    # k_g * b * (3R + 2D) + k_d * (b R + 2b * 3D)
    assert adversarial_step_flops(10, 1, batch_size=4, k_g=2, k_d=1) == 2 * 4 * 32 + 40 + 24


def test_baseline_has_the_preset_architecture_and_trains():
    def shapes(m: torch.nn.Module) -> list[tuple[int, ...]]:
        return [tuple(p.shape) for p in m.parameters()]

    assert shapes(NaiveRefiner(1)) == shapes(build_refiner("eyes", 1))
    assert shapes(NaiveDiscriminator(1)) == shapes(build_discriminator("eyes", 1))
    rng = np.random.default_rng(0)
    # small images keep it fast; the modules are fully convolutional
    syn = rng.integers(0, 256, (8, 12, 20, 1), dtype=np.uint8)
    real = rng.integers(0, 256, (8, 12, 20, 1), dtype=np.uint8)
    base = NaiveSimGAN(syn, real, batch_size=4, history_capacity=8)
    before = base.R.conv_in.weight.detach().clone()
    losses = [base.step() for _ in range(3)]
    assert all(np.isfinite(v) for m in losses for v in m.values())
    assert base.history.count == 6  # 2 images stored per D update, 3 steps, capacity 8
    assert not torch.equal(before, base.R.conv_in.weight)


def test_bench_speed_quick_json(capsys):
    threads = torch.get_num_threads()
    code = main(["bench", "speed", "--quick", "--json", "--repeats", "1", "--skip", "import"])
    assert code == 0
    out = capsys.readouterr().out
    result = json.loads(out)  # exactly one JSON object on stdout
    assert torch.get_num_threads() == threads  # the benchmark restores the thread count
    assert result["benchmark"] == "speed" and result["quick"] is True
    assert isinstance(result["load_average_start"], list)
    assert result["matmul"]["flop_per_s"] > 0
    (row,) = result["train"]
    for key in (
        "simgan_images_per_s",
        "baseline_images_per_s",
        "speedup_vs_baseline",
        "simgan_share_of_matmul",
        "baseline_share_of_matmul",
        "model_flops_per_step",
    ):
        assert row[key] > 0, key
    assert row["images_per_step"] == row["batch_size"] * (row["k_g"] + 2 * row["k_d"])
    refine = result["refine"]
    assert refine["pytorch"]["images_per_s"] > 0 and refine["onnx"]["images_per_s"] > 0
    assert refine["onnx_max_abs_diff_uint8"] <= 1
    sim = result["simulator"]
    assert sim.get("images_per_s", 1) > 0 and ("images_per_s" in sim or "skipped" in sim)
    assert "import" not in result
    assert "targets" in result


def test_bench_import_figures():
    from simgan.speed.io_speed import bench_import

    result = bench_import(64, repeats=1)
    for key in ("write_dataset", "read_dataset", "import_npz"):
        assert result[key]["images_per_s"] > 0, key
